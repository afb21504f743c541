// Package pyparse reads a Python runbook's metadata without running
// Python: the module docstring (synopsis, description, notes, examples,
// argument help in Google or NumPy style, the RunbookCustomization block)
// and the signature of the top-level `def main(...)`, whose parameters
// become the runbook's typed parameters.
//
// The lexer knows just enough of Python's lexical grammar to do that
// reliably; see lexer.go.
package pyparse

import (
	"strings"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// Metadata is what a Python runbook declares about itself.
type Metadata struct {
	Synopsis, Description, Notes string
	Examples                     []string
	// Parameters are those of the top-level main(); nil when there is no
	// main or it declares none (the script takes free-form arguments).
	Parameters []runbooker.Parameter
	// Customization is the RunbookCustomization block of the docstring,
	// nil if none.
	Customization *loosejson.Embedded
	// RequiredModules are the packages of its `# requirements:` lines
	// (see Requirements).
	RequiredModules []runbooker.Module

	argDocs map[string]string // lower-cased parameter name → help text
}

// Parse reads the module docstring and the signature of the top-level
// `def main(...)`. A script without main has no parameters. The Metadata
// is never nil: on a syntax error (a *runbooker.ParseError with Source
// "script") it holds what was read before it.
func Parse(src []byte) (*Metadata, error) {
	l := newPyLexer(src)
	meta := &Metadata{}
	var toks []pyToken // one logical line at a time
	first := true
	for {
		tok, err := l.next()
		if err != nil {
			return meta, err
		}
		if tok.kind != pyNewline && tok.kind != pyEOF {
			toks = append(toks, tok)
			if isMainDef(toks) {
				params, err := pyParams(l, src)
				if err != nil {
					return meta, err
				}
				meta.Parameters = params
			}
			continue
		}
		if first && len(toks) > 0 {
			first = false
			if doc, raw, ok := docstring(toks); ok {
				readDocstring(meta, src, doc, raw)
			}
		}
		toks = toks[:0]
		if tok.kind == pyEOF {
			break
		}
	}
	applyArgDocs(meta)
	meta.RequiredModules, _ = Requirements(src)
	return meta, nil
}

// isMainDef reports whether toks is `[async] def main (` at the start of a
// top-level statement.
func isMainDef(toks []pyToken) bool {
	if len(toks) == 0 || !toks[0].col0 {
		return false
	}
	if toks[0].kind == pyName && toks[0].text == "async" {
		toks = toks[1:]
	}
	return len(toks) == 3 && toks[0].text == "def" && toks[1].text == "main" && toks[2].text == "("
}

// docstring returns the decoded text of a statement that is only string
// literals, plus the raw source span of the first one.
func docstring(toks []pyToken) (doc string, raw pyToken, ok bool) {
	var b strings.Builder
	for _, t := range toks {
		if t.kind != pyString {
			return "", raw, false
		}
		s, isBytes := decodePyString(t.text)
		if isBytes || strings.ContainsAny(stringPrefix(t.text), "fFtT") {
			return "", raw, false
		}
		b.WriteString(s)
	}
	return b.String(), toks[0], true
}

// pyParams reads the parameter list after `def main(` up to the matching
// `)`, splitting at top-level commas.
func pyParams(l *pyLexer, src []byte) ([]runbooker.Parameter, error) {
	var params []runbooker.Parameter
	var group []pyToken
	depth := 1
	for {
		tok, err := l.next()
		if err != nil {
			return nil, err
		}
		if tok.kind == pyEOF {
			return nil, l.errAt(len(src), "unterminated parameter list of def main")
		}
		if tok.kind == pyOp {
			switch tok.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
		}
		if depth == 0 || depth == 1 && tok.text == "," && tok.kind == pyOp {
			if p, ok := pyParam(group); ok {
				params = append(params, p)
			}
			group = group[:0]
			if depth == 0 {
				return params, nil
			}
			continue
		}
		group = append(group, tok)
	}
}

// pyParam turns the tokens of one parameter into a Parameter. `*`, `/`,
// `*args` and `**kwargs` yield nothing: a runbook receives keywords only.
func pyParam(toks []pyToken) (runbooker.Parameter, bool) {
	if len(toks) == 0 {
		return runbooker.Parameter{}, false
	}
	if toks[0].kind == pyOp && (toks[0].text == "*" || toks[0].text == "**" || toks[0].text == "/") {
		return runbooker.Parameter{}, false
	}
	if toks[0].kind != pyName {
		return runbooker.Parameter{}, false
	}
	p := runbooker.Parameter{Name: toks[0].text, Type: runbooker.TypeObject}
	rest := toks[1:]
	colon, eq, depth := -1, -1, 0
	for i, t := range rest {
		if t.kind != pyOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ":":
			if depth == 0 && i == 0 {
				colon = i
			}
		case "=":
			if depth == 0 && eq < 0 {
				eq = i
			}
		}
	}
	var ann, def []pyToken
	if colon == 0 {
		ann = rest[1:]
		if eq >= 0 {
			ann = rest[1:eq]
		}
	}
	if eq >= 0 {
		def = rest[eq+1:]
	}
	if len(ann) > 0 {
		typ, set := pyType(annotationText(ann))
		p.Type, p.ValidateSet = typ, set
	}
	if len(def) == 0 {
		p.Mandatory = true
		return p, true
	}
	if v, ok := pyLiteral(def); ok {
		p.Default = v
		if s, isList := v.([]any); isList {
			if strs, ok := allStrings(s); ok {
				p.Default = strs
			}
		}
	} else {
		p.DefaultExpr = joinTokens(def)
	}
	return p, true
}

// annotationText returns the annotation without spaces; a string
// annotation (a forward reference) is unquoted.
func annotationText(toks []pyToken) string {
	if len(toks) == 1 && toks[0].kind == pyString {
		s, _ := decodePyString(toks[0].text)
		return strings.Join(strings.Fields(s), "")
	}
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.text)
	}
	return b.String()
}

// joinTokens renders an expression as written, one space where the source
// had any whitespace or comments.
func joinTokens(toks []pyToken) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && t.space {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}
