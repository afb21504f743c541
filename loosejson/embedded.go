package loosejson

import (
	"bytes"
	"unicode/utf8"

	runbooker "github.com/runbooker/runbooker"
)

// Embedded is loose JSON cut out of a larger text (the customization block
// of a script header), with what is needed to point errors at that text's
// own lines and columns.
type Embedded struct {
	Text []byte
	Line int   // line of the enclosing text where Text's first line is
	Cols []int // per line of Text: characters before it in the enclosing line
}

// Translate moves a position inside h.Text to the enclosing text.
func (h *Embedded) Translate(e *runbooker.ParseError) {
	if e.Line < 1 {
		return
	}
	if i := e.Line - 1; i < len(h.Cols) {
		e.Column += h.Cols[i]
	}
	e.Line += h.Line - 1
}

// Extent returns the end of the JSON object or array starting at or
// after start (after whitespace), honouring strings and comments. When the
// brackets never balance it returns len(b), so the parser reports the error
// where it really is.
func Extent(b []byte, start int) (from, end int) {
	i := start
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	from = i
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			i++
			for i < len(b) && b[i] != '"' && b[i] != '\n' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			j := bytes.Index(b[i+2:], []byte("*/"))
			if j < 0 {
				return from, len(b)
			}
			i += j + 3
			continue
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth <= 0 {
				return from, i + 1
			}
		default:
			if depth == 0 { // not JSON: hand the parser the line to complain about
				for i < len(b) && b[i] != '\n' {
					i++
				}
				return from, i
			}
		}
		i++
	}
	return from, len(b)
}

// Position converts a byte offset into a 1-based line and a 1-based column
// counted in characters.
func Position(src []byte, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line, lineStart := 1, 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return line, utf8.RuneCount(src[lineStart:off]) + 1
}
