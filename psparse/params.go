package psparse

import (
	"strings"

	"github.com/runbooker/runbooker"
)

// paramBlock locates the script-level param block: the first statement of
// the script, after comments, using statements and attributes such as
// [CmdletBinding()]. toks[open] is its '(' and toks[close] its ')'.
func paramBlock(toks []Token) (open, close int, cmdletBinding, ok bool) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.Kind == Newline || t.Kind == Semicolon || isComment(t) || t.Kind == Type:
		case t.Kind == Keyword && t.Value == "using":
			for i+1 < len(toks) && toks[i+1].Kind != Newline && toks[i+1].Kind != Semicolon {
				i++
			}
		case t.Kind == Attribute:
			if attributeName(t.Value) == "cmdletbinding" {
				cmdletBinding = true
			}
			i = matching(toks, i)
		case t.Kind == Keyword && t.Value == "param":
			j := i + 1
			for j < len(toks) && (toks[j].Kind == Newline || isComment(toks[j])) {
				j++
			}
			if j < len(toks) && toks[j].Kind == LParen {
				return j, matching(toks, j), cmdletBinding, true
			}
			return 0, 0, false, false
		default:
			return 0, 0, false, false
		}
	}
	return 0, 0, false, false
}

// paramParser turns the tokens of a param block into parameters.
type paramParser struct {
	src  []byte
	toks []Token
	pos  *positions
	help map[string]string // .PARAMETER texts by lower-case name
}

// span is the token range toks[from:to] of one parameter declaration;
// sep is the index of the comma before it, or -1.
type span struct{ from, to, sep int }

// parse reads the declarations between toks[open] '(' and toks[close] ')'.
func (p *paramParser) parse(open, close int) ([]runbooker.Parameter, *runbooker.ParseError) {
	spans := p.split(open, close)
	params := make([]runbooker.Parameter, 0, len(spans))
	seen := make(map[string]bool, len(spans))
	var trailing []string // same-line comment after each declaration
	for k, s := range spans {
		prm, vi, perr := p.decl(s)
		if perr != nil {
			return nil, perr
		}
		if vi < 0 {
			continue // an empty declaration (a stray comma)
		}
		key := strings.ToLower(prm.Name)
		if seen[key] {
			return nil, p.pos.errorAt(p.toks[vi].Offset, "duplicate parameter $"+prm.Name+" in the param block")
		}
		seen[key] = true
		params = append(params, prm)
		trailing = append(trailing, p.trailingComment(s, k+1 < len(spans)))
	}
	for i := range params {
		prm := &params[i]
		if h := p.help[strings.ToLower(prm.Name)]; h != "" {
			prm.Description = h
		} else if prm.Description == "" {
			prm.Description = trailing[i]
		}
	}
	return params, nil
}

// split cuts the block at top-level commas. A piece that does not start a
// declaration (the "b" of $x = "a","b") continues the previous one.
func (p *paramParser) split(open, close int) []span {
	var spans []span
	start, sep, depth := open+1, -1, 0
	flush := func(end, nextSep int) {
		if len(spans) > 0 && !p.startsDecl(start, end) && p.first(start, end) < end {
			spans[len(spans)-1].to = end
		} else {
			spans = append(spans, span{from: start, to: end, sep: sep})
		}
		start, sep = end+1, nextSep
	}
	for i := open + 1; i < close; i++ {
		t := p.toks[i]
		switch {
		case t.opens():
			depth++
		case t.closes():
			depth--
		case t.Kind == Comma && depth == 0:
			flush(i, i)
		}
	}
	flush(close, -1)
	return spans
}

// first returns the index of the first code token (not a newline or
// comment) in toks[from:to], or to.
func (p *paramParser) first(from, to int) int {
	for i := from; i < to; i++ {
		if t := p.toks[i]; t.Kind != Newline && !isComment(t) {
			return i
		}
	}
	return to
}

func (p *paramParser) startsDecl(from, to int) bool {
	i := p.first(from, to)
	if i >= to {
		return false
	}
	switch p.toks[i].Kind {
	case Attribute, Type, Variable:
		return true
	}
	return false
}

// decl reads one declaration. vi is the index of its variable, -1 when the
// span holds no code at all.
func (p *paramParser) decl(s span) (prm runbooker.Parameter, vi int, perr *runbooker.ParseError) {
	toks := p.toks
	var st attrState
	var comments []Token
	typeName := ""
	vi = -1
	i := s.from
	for ; i < s.to && vi < 0; i++ {
		t := toks[i]
		switch t.Kind {
		case Newline:
		case LineComment, BlockComment:
			if s.sep < 0 || t.Line != toks[s.sep].Line {
				comments = append(comments, t)
			}
		case Attribute:
			end := matching(toks, i)
			p.attribute(&st, toks[i:end+1])
			i = end
		case Type:
			if !isAttributeType(t.Value) {
				typeName = t.Value
			}
		case Variable:
			vi = i
		default:
			return prm, -1, p.pos.errorAt(t.Offset, "expected a parameter variable such as $Name, found "+quoteTok(t))
		}
	}
	if vi < 0 {
		if p.first(s.from, s.to) >= s.to {
			return prm, -1, nil // nothing but comments
		}
		at := s.to
		if at >= len(toks) {
			at = len(toks) - 1
		}
		return prm, -1, p.pos.errorAt(toks[at].Offset, "missing the parameter variable after its attributes")
	}
	prm = runbooker.Parameter{
		Name:          toks[vi].Value,
		Type:          normalizeType(typeName),
		Mandatory:     st.mandatory,
		ValidateSet:   st.set,
		ValidateRange: st.rng,
		UI:            st.ui,
		Description:   commentHelp(comments, toks, vi),
	}
	if prm.Description == "" {
		prm.Description = st.helpMessage
	}
	j := p.first(i, s.to)
	if j >= s.to {
		return prm, vi, nil
	}
	if t := toks[j]; t.Kind != Operator || t.Value != "=" {
		return prm, vi, p.pos.errorAt(t.Offset, "unexpected "+quoteTok(t)+" after parameter $"+prm.Name)
	}
	def := trimCode(toks[j+1 : s.to])
	if len(def) == 0 {
		return prm, vi, p.pos.errorAt(toks[j].Offset, "missing the default value of parameter $"+prm.Name)
	}
	if v, ok := literal(def, 0); ok {
		prm.Default = v
	} else {
		prm.DefaultExpr = string(p.src[def[0].Offset:def[len(def)-1].End])
	}
	return prm, vi, nil
}

// commentHelp returns the text of the comments directly above the
// declaration: the last run of comments on consecutive lines, when the
// line after it holds code of this declaration.
func commentHelp(comments []Token, toks []Token, vi int) string {
	if len(comments) == 0 {
		return ""
	}
	runStart := len(comments) - 1
	for runStart > 0 && comments[runStart].Line == endLine(comments[runStart-1])+1 {
		runStart--
	}
	run := comments[runStart:]
	last := run[len(run)-1]
	// the next code token after the run must sit on the following line (or
	// on the same line, after a <# #> comment)
	next := -1
	for i := vi; i >= 0 && toks[i].Offset >= last.End; i-- {
		if toks[i].Kind != Newline && !isComment(toks[i]) {
			next = i
		}
	}
	if next < 0 || toks[next].Line > endLine(last)+1 {
		return ""
	}
	return commentsText(run)
}

func endLine(t Token) int {
	return t.Line + strings.Count(t.Text, "\n") + strings.Count(t.Text, "\r") - strings.Count(t.Text, "\r\n")
}

func commentsText(run []Token) string {
	var lines []helpLine
	for _, t := range run {
		if t.Kind == BlockComment {
			lines = append(lines, blockLines(t)...)
		} else {
			lines = append(lines, helpLine{text: t.Value, line: t.Line})
		}
	}
	return sectionText(lines)
}

// trailingComment returns a comment on the same line as the end of the
// declaration: "[string] $Name, # the name".
func (p *paramParser) trailingComment(s span, hasNext bool) string {
	last := -1
	for i := s.from; i < s.to; i++ {
		if t := p.toks[i]; t.Kind != Newline && !isComment(t) {
			last = i
		}
	}
	if last < 0 {
		return ""
	}
	line := p.toks[last].Line
	end := s.to
	if hasNext && end < len(p.toks) {
		end++ // past the comma, into the next declaration's first line
	}
	for i := last + 1; i < len(p.toks) && i <= end; i++ {
		if t := p.toks[i]; t.Kind == LineComment && t.Line == line {
			return strings.TrimSpace(t.Value)
		} else if t.Kind == Newline {
			return ""
		}
	}
	return ""
}

// trimCode drops newlines and comments at both ends.
func trimCode(toks []Token) []Token {
	for len(toks) > 0 && (toks[0].Kind == Newline || isComment(toks[0])) {
		toks = toks[1:]
	}
	for len(toks) > 0 && (toks[len(toks)-1].Kind == Newline || isComment(toks[len(toks)-1])) {
		toks = toks[:len(toks)-1]
	}
	return toks
}

func quoteTok(t Token) string {
	s := t.Text
	if len(s) > 30 {
		s = s[:30] + "…"
	}
	return "'" + s + "'"
}
