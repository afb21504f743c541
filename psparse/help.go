package psparse

import (
	"strings"
)

// helpLine is one line of a comment: its text (for # comments, the text
// after '#') and where that text starts in the source.
type helpLine struct {
	text   string
	line   int  // 1-based source line
	off    int  // byte offset of text in the source
	inline bool // the text follows "<#" on its line, so its indentation means nothing
}

// helpSection is one keyword of comment-based help and the lines under it.
type helpSection struct {
	keyword string // upper case, without the dot: SYNOPSIS, PARAMETER, …
	arg     string // the parameter name of .PARAMETER
	lines   []helpLine
}

// helpBlock is a parsed comment-based help block.
type helpBlock struct {
	sections []helpSection
	verbatim bool // the lines are exact source text (a <# #> comment)
}

// scriptHelp finds the script's comment-based help: the first comment
// block (a <# #> comment or a run of # lines) that has a help keyword and
// comes before any code, or else such a block after the last code.
func scriptHelp(toks []Token) *helpBlock {
	i := 0
	for i < len(toks) && (toks[i].Kind == Newline || isComment(toks[i])) {
		b, next := commentGroup(toks, i)
		if b != nil {
			return b
		}
		i = next
	}
	last := len(toks) - 1
	for last >= 0 && (toks[last].Kind == Newline || isComment(toks[last])) {
		last--
	}
	if last < i { // nothing but comments: already searched
		return nil
	}
	for j := last + 1; j < len(toks); {
		b, next := commentGroup(toks, j)
		if b != nil {
			return b
		}
		j = next
	}
	return nil
}

func isComment(t Token) bool { return t.Kind == LineComment || t.Kind == BlockComment }

// commentGroup reads the comment group at toks[i] (skipping newlines) and
// returns its help, if it is help, and the index after the group (or of
// the code that follows the newlines).
func commentGroup(toks []Token, i int) (*helpBlock, int) {
	for i < len(toks) && toks[i].Kind == Newline {
		i++
	}
	if i >= len(toks) || !isComment(toks[i]) {
		return nil, i
	}
	if toks[i].Kind == BlockComment {
		return parseHelp(blockLines(toks[i]), true), i + 1
	}
	var lines []helpLine
	for i < len(toks) {
		t := toks[i]
		if t.Kind == Newline {
			i++
			continue
		}
		if t.Kind != LineComment || (len(lines) > 0 && t.Line != lines[len(lines)-1].line+1) {
			break
		}
		lines = append(lines, helpLine{text: t.Value, line: t.Line, off: t.Offset + 1})
		i++
	}
	return parseHelp(lines, false), i
}

// blockLines splits a <# #> comment into its lines.
func blockLines(t Token) []helpLine {
	var lines []helpLine
	v, off, line := t.Value, t.Offset+2, t.Line
	for {
		j := strings.IndexAny(v, "\r\n")
		if j < 0 {
			return append(lines, helpLine{text: v, line: line, off: off, inline: len(lines) == 0})
		}
		lines = append(lines, helpLine{text: v[:j], line: line, off: off, inline: len(lines) == 0})
		w := 1
		if v[j] == '\r' && j+1 < len(v) && v[j+1] == '\n' {
			w = 2
		}
		v, off, line = v[j+w:], off+j+w, line+1
	}
}

// parseHelp splits comment lines into keyword sections. It returns nil
// when no line is a help keyword.
func parseHelp(lines []helpLine, verbatim bool) *helpBlock {
	var b *helpBlock
	for _, ln := range lines {
		if kw, arg, ok := helpKeyword(ln.text); ok {
			if b == nil {
				b = &helpBlock{verbatim: verbatim}
			}
			b.sections = append(b.sections, helpSection{keyword: kw, arg: arg})
			continue
		}
		if b != nil {
			s := &b.sections[len(b.sections)-1]
			s.lines = append(s.lines, ln)
		}
	}
	return b
}

// helpKeyword recognises a line like "  .PARAMETER UserName".
func helpKeyword(text string) (kw, arg string, ok bool) {
	t := strings.TrimSpace(text)
	if len(t) < 2 || t[0] != '.' {
		return "", "", false
	}
	word, rest := t[1:], ""
	if j := strings.IndexAny(word, " \t"); j >= 0 {
		word, rest = word[:j], strings.TrimSpace(word[j:])
	}
	kw = strings.ToUpper(word)
	switch kw {
	case "PARAMETER", "FORWARDHELPTARGETNAME", "FORWARDHELPCATEGORY", "REMOTEHELPRUNSPACE", "EXTERNALHELP":
		return kw, rest, rest != ""
	case "SYNOPSIS", "DESCRIPTION", "EXAMPLE", "INPUTS", "OUTPUTS", "NOTES", "LINK",
		"COMPONENT", "ROLE", "FUNCTIONALITY":
		return kw, "", rest == ""
	}
	return "", "", false
}

// sectionText returns the lines dedented by their common indentation,
// without leading and trailing blank lines or trailing blanks.
func sectionText(lines []helpLine) string {
	for len(lines) > 0 && strings.TrimSpace(lines[0].text) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1].text) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	indent := -1
	for _, ln := range lines {
		if ln.inline || strings.TrimSpace(ln.text) == "" {
			continue
		}
		n := len(ln.text) - len(strings.TrimLeft(ln.text, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	if indent < 0 {
		indent = 0
	}
	var b strings.Builder
	for i, ln := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		t := strings.TrimRight(ln.text, " \t\r")
		if ln.inline {
			t = strings.TrimLeft(t, " \t")
		} else if len(t) >= indent {
			t = t[indent:]
		} else {
			t = ""
		}
		b.WriteString(t)
	}
	return b.String()
}

// applyHelp copies the help sections into md and returns the .PARAMETER
// texts by lower-case name.
func applyHelp(md *Metadata, src []byte, b *helpBlock) map[string]string {
	params := map[string]string{}
	if b == nil {
		return params
	}
	var inputs []string
	for _, s := range b.sections {
		text := sectionText(s.lines)
		switch s.keyword {
		case "SYNOPSIS":
			md.Synopsis = joinText(md.Synopsis, text)
		case "DESCRIPTION":
			md.Description = joinText(md.Description, text)
		case "NOTES":
			md.Notes = joinText(md.Notes, text)
		case "EXAMPLE":
			if text != "" {
				md.Examples = append(md.Examples, text)
			}
		case "PARAMETER":
			if key := strings.ToLower(strings.TrimPrefix(s.arg, "$")); params[key] == "" {
				params[key] = text
			}
		case "INPUTS":
			if text != "" {
				inputs = append(inputs, text)
			}
			if md.Customization == "" {
				md.Customization, md.CustomizationLine = customization(src, s.lines, b.verbatim)
			}
		}
	}
	md.Inputs = strings.Join(inputs, "\n\n")
	return params
}

func joinText(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "\n\n" + b
}
