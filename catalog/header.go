package catalog

import (
	"bytes"
	"strings"

	runbooker "github.com/runbooker/runbooker"
)

// customizationMarker introduces the customization JSON in a script header,
// as in RealmJoin's `.INPUTS` section.
const customizationMarker = "RunbookCustomization:"

// headerJSON is customization JSON cut out of a script header, with what is
// needed to point errors at the script's own lines and columns.
type headerJSON struct {
	text []byte
	line int   // script line of the text's first line
	cols []int // per text line: characters in the script line before it
}

// translate moves a position inside h.text to the script.
func (h *headerJSON) translate(e *runbooker.ParseError) {
	if e.Line < 1 {
		return
	}
	if i := e.Line - 1; i < len(h.cols) {
		e.Column += h.cols[i]
	}
	e.Line += h.line - 1
}

// jsonExtent returns the end of the JSON object or array starting at or
// after start (after whitespace), honouring strings and comments. When the
// brackets never balance it returns len(b), so the parser reports the error
// where it really is.
func jsonExtent(b []byte, start int) (from, end int) {
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

// findCustomization locates `RunbookCustomization:` in src[lo:hi] and cuts
// out the JSON after it. The text is taken from the source as written, so
// positions map one to one.
func findCustomization(src []byte, lo, hi int) (h *headerJSON, cutFrom, cutTo int, ok bool) {
	i := bytes.Index(src[lo:hi], []byte(customizationMarker))
	if i < 0 {
		return nil, 0, 0, false
	}
	at := lo + i
	from, end := jsonExtent(src[:hi], at+len(customizationMarker))
	line, col := position(src, from)
	h = &headerJSON{text: src[from:end], line: line, cols: []int{col - 1}}
	return h, at, end, true
}

// cleandoc removes a docstring's indentation the way inspect.cleandoc
// does: tabs expanded, the common indentation of all lines but the first
// removed, blank lines at either end dropped.
func cleandoc(doc string) []string {
	lines := strings.Split(strings.ReplaceAll(doc, "\t", "        "), "\n")
	margin := -1
	for _, l := range lines[1:] {
		if t := strings.TrimLeft(l, " "); t != "" {
			if ind := len(l) - len(t); margin < 0 || ind < margin {
				margin = ind
			}
		}
	}
	lines[0] = strings.TrimSpace(lines[0])
	for i := 1; i < len(lines); i++ {
		if margin > 0 && len(lines[i]) >= margin {
			lines[i] = lines[i][margin:]
		}
		lines[i] = strings.TrimRight(lines[i], " \r")
	}
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
