package catalog

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	runbooker "github.com/runbooker/runbooker"
)

// maxJSONDepth matches encoding/json's nesting limit, so every document the
// standard library accepts is accepted here too.
const maxJSONDepth = 10000

// ParseLooseJSON parses JSON as RealmJoin customization files are written:
// standard JSON plus `//` and `/* */` comments and trailing commas in arrays
// and objects. Objects become map[string]any (the last of duplicate keys
// wins), numbers float64, as with encoding/json. Errors are
// *runbooker.ParseError with 1-based line and column (in characters).
func ParseLooseJSON(src []byte) (any, error) {
	n, err := parseLoose(src)
	if err != nil {
		return nil, err
	}
	return n.toAny(), nil
}

// NormalizeLooseJSON parses loose JSON and returns it as strict JSON with
// comments and trailing commas removed and key order kept, so it can be
// stored as a json.RawMessage.
func NormalizeLooseJSON(src []byte) ([]byte, error) {
	n, err := parseLoose(src)
	if err != nil {
		return nil, err
	}
	return n.appendJSON(nil), nil
}

type jsonKind uint8

const (
	jNull jsonKind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// jnode is a parsed JSON value that keeps member order and its offset in
// the source, so later checks can point at the offending spot.
type jnode struct {
	kind jsonKind
	b    bool
	num  float64
	text string // string value, or the number's source text
	arr  []*jnode
	obj  []jmember
	off  int // byte offset of the value in the source
}

type jmember struct {
	key string
	val *jnode
	off int // byte offset of the key
}

type jsonParser struct {
	src   []byte
	pos   int
	depth int
}

func parseLoose(src []byte) (*jnode, error) {
	p := &jsonParser{src: src}
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		p.pos = 3 // a byte-order mark from a Windows editor
	}
	if err := p.space(); err != nil {
		return nil, err
	}
	if p.pos >= len(src) {
		return nil, p.errAt(p.pos, "empty document: expected a JSON value")
	}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.space(); err != nil {
		return nil, err
	}
	if p.pos < len(src) {
		return nil, p.errAt(p.pos, "unexpected %s after the end of the JSON value", p.describe())
	}
	return n, nil
}

func (p *jsonParser) errAt(off int, format string, args ...any) error {
	line, col := position(p.src, off)
	return &runbooker.ParseError{Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// describe names the byte at p.pos for an error message.
func (p *jsonParser) describe() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

// space skips whitespace and comments.
func (p *jsonParser) space() error {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '*':
			start := p.pos
			p.pos += 2
			for {
				if p.pos+1 >= len(p.src) {
					return p.errAt(start, "unterminated /* comment")
				}
				if p.src[p.pos] == '*' && p.src[p.pos+1] == '/' {
					p.pos += 2
					break
				}
				p.pos++
			}
		default:
			return nil
		}
	}
	return nil
}

func (p *jsonParser) value() (*jnode, error) {
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jnode{kind: jString, text: s, off: start}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		end := p.pos
		for end < len(p.src) && (p.src[end] >= 'a' && p.src[end] <= 'z' || p.src[end] >= 'A' && p.src[end] <= 'Z' || p.src[end] >= '0' && p.src[end] <= '9' || p.src[end] == '_') {
			end++
		}
		word := string(p.src[p.pos:end])
		n := &jnode{off: start}
		switch word {
		case "true":
			n.kind, n.b = jBool, true
		case "false":
			n.kind = jBool
		case "null":
			n.kind = jNull
		default:
			return nil, p.errAt(start, "unexpected word %q: expected a value (string, number, object, array, true, false or null)", word)
		}
		p.pos = end
		return n, nil
	}
	return nil, p.errAt(start, "unexpected %s: expected a value", p.describe())
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > maxJSONDepth {
		return p.errAt(p.pos, "nested too deeply (more than %d levels)", maxJSONDepth)
	}
	return nil
}

func (p *jsonParser) object() (*jnode, error) {
	n := &jnode{kind: jObject, off: p.pos}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // {
	for {
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(n.off, "unterminated object: missing '}'")
		}
		if p.src[p.pos] == '}' {
			p.pos++
			p.depth--
			return n, nil
		}
		if p.src[p.pos] != '"' {
			return nil, p.errAt(p.pos, "unexpected %s: expected a quoted member name or '}'", p.describe())
		}
		keyOff := p.pos
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.errAt(p.pos, "unexpected %s: expected ':' after member name %q", p.describe(), key)
		}
		p.pos++
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(p.pos, "unexpected end of input: expected the value of %q", key)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.obj = append(n.obj, jmember{key: key, val: v, off: keyOff})
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			continue
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(n.off, "unterminated object: missing '}'")
		}
		return nil, p.errAt(p.pos, "unexpected %s: expected ',' or '}' after the value of %q", p.describe(), key)
	}
}

func (p *jsonParser) array() (*jnode, error) {
	n := &jnode{kind: jArray, off: p.pos}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // [
	for {
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(n.off, "unterminated array: missing ']'")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			p.depth--
			return n, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.arr = append(n.arr, v)
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			continue
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(n.off, "unterminated array: missing ']'")
		}
		return nil, p.errAt(p.pos, "unexpected %s: expected ',' or ']' after an array element", p.describe())
	}
}

func (p *jsonParser) number() (*jnode, error) {
	start := p.pos
	i := p.pos
	digits := func() int {
		j := i
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
		return i - j
	}
	if p.src[i] == '-' {
		i++
	}
	if i < len(p.src) && p.src[i] == '0' {
		i++
	} else if digits() == 0 {
		return nil, p.errAt(start, "malformed number: expected a digit")
	}
	if i < len(p.src) && p.src[i] == '.' {
		i++
		if digits() == 0 {
			return nil, p.errAt(start, "malformed number: expected a digit after '.'")
		}
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		i++
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, p.errAt(start, "malformed number: expected a digit in the exponent")
		}
	}
	if i < len(p.src) && (p.src[i] >= '0' && p.src[i] <= '9' || p.src[i] == '.' || p.src[i] >= 'a' && p.src[i] <= 'z' || p.src[i] >= 'A' && p.src[i] <= 'Z') {
		return nil, p.errAt(start, "malformed number %q", string(p.src[start:i+1]))
	}
	text := string(p.src[start:i])
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, p.errAt(start, "number %s is out of range", text)
	}
	p.pos = i
	return &jnode{kind: jNumber, num: f, text: text, off: start}, nil
}
