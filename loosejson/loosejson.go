// Package loosejson reads JSON as people write it by hand in RealmJoin
// customization and permissions files: standard JSON plus `//` and `/* */`
// comments and trailing commas. Every document encoding/json accepts is
// accepted here with the same meaning.
//
// Parse keeps member order and source offsets, so callers can point a
// warning at the exact spot of a file; Decode gives the values
// encoding/json would; Normalize rewrites a document as strict JSON.
package loosejson

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	runbooker "github.com/runbooker/runbooker"
)

// maxDepth matches encoding/json's nesting limit, so every document the
// standard library accepts is accepted here too.
const maxDepth = 10000

// Decode parses JSON as RealmJoin customization files are written:
// standard JSON plus `//` and `/* */` comments and trailing commas in arrays
// and objects. Objects become map[string]any (the last of duplicate keys
// wins), numbers float64, as with encoding/json. Errors are
// *runbooker.ParseError with 1-based line and column (in characters).
func Decode(src []byte) (any, error) {
	n, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return n.Value(), nil
}

// Normalize parses loose JSON and returns it as strict JSON with
// comments and trailing commas removed and key order kept, so it can be
// stored as a json.RawMessage.
func Normalize(src []byte) ([]byte, error) {
	n, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return n.AppendJSON(nil), nil
}

// Kind is the JSON type of a Node.
type Kind uint8

// The kinds of JSON values.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Node is a parsed JSON value. It keeps member order and its offset in the
// source, so later checks can point at the offending spot.
type Node struct {
	Kind    Kind
	Bool    bool     // value of a Bool
	Num     float64  // value of a Number
	Text    string   // value of a String, or a Number's source text
	Elems   []*Node  // elements of an Array
	Members []Member // members of an Object, duplicates included, in source order
	Off     int      // byte offset of the value in the source
}

// Member is one name/value pair of an Object.
type Member struct {
	Key string
	Val *Node
	Off int // byte offset of the key in the source
}

type parser struct {
	src   []byte
	pos   int
	depth int
}

// Parse parses a loose JSON document into a tree. Errors are
// *runbooker.ParseError with 1-based line and column (in characters).
func Parse(src []byte) (*Node, error) {
	p := &parser{src: src}
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

func (p *parser) errAt(off int, format string, args ...any) error {
	line, col := Position(p.src, off)
	return &runbooker.ParseError{Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// describe names the byte at p.pos for an error message.
func (p *parser) describe() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

// space skips whitespace and comments.
func (p *parser) space() error {
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

func (p *parser) value() (*Node, error) {
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
		return &Node{Kind: String, Text: s, Off: start}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		end := p.pos
		for end < len(p.src) && (p.src[end] >= 'a' && p.src[end] <= 'z' || p.src[end] >= 'A' && p.src[end] <= 'Z' || p.src[end] >= '0' && p.src[end] <= '9' || p.src[end] == '_') {
			end++
		}
		word := string(p.src[p.pos:end])
		n := &Node{Off: start}
		switch word {
		case "true":
			n.Kind, n.Bool = Bool, true
		case "false":
			n.Kind = Bool
		case "null":
			n.Kind = Null
		default:
			return nil, p.errAt(start, "unexpected word %q: expected a value (string, number, object, array, true, false or null)", word)
		}
		p.pos = end
		return n, nil
	}
	return nil, p.errAt(start, "unexpected %s: expected a value", p.describe())
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(p.pos, "nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}
