package pyparse

import (
	"fmt"
	"strings"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// pyKind is the kind of a Python token. The lexer knows just enough of
// Python's lexical grammar (strings of every prefix including f-strings with
// nested quotes, comments, brackets, line continuations) to find the module
// docstring and the top-level `def main(...)` without running Python.
type pyKind uint8

const (
	pyEOF pyKind = iota
	pyName
	pyNumber
	pyString
	pyOp
	pyNewline // end of a logical line
)

type pyToken struct {
	kind  pyKind
	text  string
	off   int  // byte offset in the source
	col0  bool // starts a logical line in column 0 (a top-level statement)
	space bool // whitespace or a comment precedes it
}

type pyLexer struct {
	src         []byte
	pos         int
	lineStart   int // offset of the current physical line
	depth       int // open brackets
	atLineStart bool
}

func newPyLexer(src []byte) *pyLexer {
	l := &pyLexer{src: src, atLineStart: true}
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		l.pos, l.lineStart = 3, 3
	}
	return l
}

func (l *pyLexer) errAt(off int, format string, args ...any) *runbooker.ParseError {
	line, col := loosejson.Position(l.src, off)
	return &runbooker.ParseError{Source: "script", Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

func (l *pyLexer) newline() {
	l.pos++
	l.lineStart = l.pos
}

// next returns the next token; errors are unterminated strings and
// unbalanced brackets.
func (l *pyLexer) next() (pyToken, error) {
	space := false
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\f' || c == '\r':
			l.pos++
			space = true
		case c == '\\' && l.pos+1 < len(l.src) && (l.src[l.pos+1] == '\n' || l.src[l.pos+1] == '\r'):
			l.pos++
			for l.pos < len(l.src) && l.src[l.pos] == '\r' {
				l.pos++
			}
			if l.pos < len(l.src) && l.src[l.pos] == '\n' {
				l.newline()
			}
			space = true
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
			space = true
		case c == '\n':
			off := l.pos
			l.newline()
			if l.depth == 0 && !l.atLineStart {
				l.atLineStart = true
				return pyToken{kind: pyNewline, text: "\n", off: off}, nil
			}
			space = true
		default:
			return l.token(space)
		}
	}
	return pyToken{kind: pyEOF, off: len(l.src)}, nil
}

func (l *pyLexer) token(space bool) (pyToken, error) {
	start := l.pos
	tok := pyToken{off: start, space: space, col0: l.atLineStart && start == l.lineStart}
	l.atLineStart = false
	c := l.src[start]
	switch {
	case isPyIdentStart(c):
		for l.pos < len(l.src) && isPyIdent(l.src[l.pos]) {
			l.pos++
		}
		if l.pos < len(l.src) && (l.src[l.pos] == '"' || l.src[l.pos] == '\'') && isStringPrefix(string(l.src[start:l.pos])) {
			if err := l.skipString(start); err != nil {
				return tok, err
			}
			tok.kind = pyString
		} else {
			tok.kind = pyName
		}
	case c == '"' || c == '\'':
		if err := l.skipString(start); err != nil {
			return tok, err
		}
		tok.kind = pyString
	case c >= '0' && c <= '9' || c == '.' && start+1 < len(l.src) && l.src[start+1] >= '0' && l.src[start+1] <= '9':
		hex := c == '0' && start+1 < len(l.src) && (l.src[start+1]|0x20) == 'x'
		for l.pos < len(l.src) {
			d := l.src[l.pos]
			if isPyIdent(d) || d == '.' || (d == '+' || d == '-') && !hex && (l.src[l.pos-1]|0x20) == 'e' {
				l.pos++
				continue
			}
			break
		}
		tok.kind = pyNumber
	default:
		tok.kind = pyOp
		l.pos += opLen(l.src[start:])
		switch c {
		case '(', '[', '{':
			l.depth++
		case ')', ']', '}':
			if l.depth == 0 {
				return tok, l.errAt(start, "unmatched %q", c)
			}
			l.depth--
		}
	}
	tok.text = string(l.src[start:l.pos])
	return tok, nil
}

// opLen returns the length of the operator at the start of b.
func opLen(b []byte) int {
	if len(b) >= 3 {
		switch string(b[:3]) {
		case "**=", "//=", ">>=", "<<=", "...":
			return 3
		}
	}
	if len(b) >= 2 {
		switch string(b[:2]) {
		case "**", "//", "->", ":=", "==", "!=", "<=", ">=", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=":
			return 2
		}
	}
	return 1
}

func isPyIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isPyIdent(c byte) bool { return isPyIdentStart(c) || c >= '0' && c <= '9' }

func isStringPrefix(p string) bool {
	switch strings.ToLower(p) {
	case "r", "u", "b", "br", "rb", "f", "fr", "rf", "t", "tr", "rt":
		return true
	}
	return false
}

// skipString moves past the string literal starting at start (its prefix
// included). Backslashes escape the next character even in raw strings, as
// in Python's tokenizer; f- and t-strings may nest quotes inside {...}.
func (l *pyLexer) skipString(start int) error {
	prefix := strings.ToLower(string(l.src[start:l.pos]))
	formatted := strings.ContainsAny(prefix, "ft")
	q := l.src[l.pos]
	triple := l.pos+2 < len(l.src) && l.src[l.pos+1] == q && l.src[l.pos+2] == q
	if triple {
		l.pos += 3
	} else {
		l.pos++
	}
	for {
		if l.pos >= len(l.src) {
			return l.errAt(start, "unterminated string literal")
		}
		switch c := l.src[l.pos]; {
		case c == '\\':
			l.pos++
			if l.pos < len(l.src) && l.src[l.pos] == '\n' {
				l.newline()
			} else {
				l.pos++
			}
		case c == '\n':
			if !triple {
				return l.errAt(start, "unterminated string literal")
			}
			l.newline()
		case c == q && (!triple || l.pos+2 < len(l.src) && l.src[l.pos+1] == q && l.src[l.pos+2] == q):
			if triple {
				l.pos += 3
			} else {
				l.pos++
			}
			return nil
		case formatted && c == '{':
			if l.pos+1 < len(l.src) && l.src[l.pos+1] == '{' {
				l.pos += 2
				continue
			}
			if err := l.skipReplacementField(start); err != nil {
				return err
			}
		default:
			l.pos++
		}
	}
}

// skipReplacementField moves past `{expr!conv:spec}` in an f-string.
func (l *pyLexer) skipReplacementField(strStart int) error {
	l.pos++ // {
	depth, inSpec := 0, false
	for {
		if l.pos >= len(l.src) {
			return l.errAt(strStart, "unterminated f-string replacement field")
		}
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.newline()
		case inSpec && c == '{':
			if err := l.skipReplacementField(strStart); err != nil {
				return err
			}
		case c == '}' && depth == 0:
			l.pos++
			return nil
		case inSpec:
			l.pos++
		case c == '"' || c == '\'':
			if err := l.skipString(l.pos); err != nil {
				return err
			}
		case isPyIdentStart(c):
			s := l.pos
			for l.pos < len(l.src) && isPyIdent(l.src[l.pos]) {
				l.pos++
			}
			if l.pos < len(l.src) && (l.src[l.pos] == '"' || l.src[l.pos] == '\'') && isStringPrefix(string(l.src[s:l.pos])) {
				if err := l.skipString(s); err != nil {
					return err
				}
			}
		case c == '(' || c == '[' || c == '{':
			depth++
			l.pos++
		case c == ')' || c == ']' || c == '}':
			depth--
			l.pos++
		case c == ':' && depth == 0 && !(l.pos+1 < len(l.src) && l.src[l.pos+1] == '='):
			inSpec = true
			l.pos++
		default:
			l.pos++
		}
	}
}
