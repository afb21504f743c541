package loosejson

import (
	"strings"
	"unicode/utf8"
)

// Value converts n to the values encoding/json would produce.
func (n *Node) Value() any {
	switch n.Kind {
	case Bool:
		return n.Bool
	case Number:
		return n.Num
	case String:
		return n.Text
	case Array:
		out := make([]any, len(n.Elems))
		for i, e := range n.Elems {
			out[i] = e.Value()
		}
		return out
	case Object:
		out := make(map[string]any, len(n.Members))
		for _, m := range n.Members {
			out[m.Key] = m.Val.Value()
		}
		return out
	}
	return nil
}

// AppendJSON writes n as strict JSON. Of duplicate keys only the last is
// written (in its own position), matching what a decoder would keep.
func (n *Node) AppendJSON(b []byte) []byte {
	switch n.Kind {
	case Null:
		return append(b, "null"...)
	case Bool:
		if n.Bool {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case Number:
		return append(b, n.Text...)
	case String:
		return appendString(b, n.Text)
	case Array:
		b = append(b, '[')
		for i, e := range n.Elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.AppendJSON(b)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	first := true
	for i, m := range n.Members {
		if laterKey(n.Members[i+1:], m.Key) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, m.Key)
		b = append(b, ':')
		b = m.Val.AppendJSON(b)
	}
	return append(b, '}')
}

func laterKey(ms []Member, key string) bool {
	for _, m := range ms {
		if m.Key == key {
			return true
		}
	}
	return false
}

// appendString quotes s with the escapes JSON needs and nothing more,
// so customization text (`&`, `<`) stays readable when stored.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// Get returns the member named key, matched case-insensitively as
// RealmJoin does; the last match wins. Nil-safe.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	var v *Node
	for _, m := range n.Members {
		if strings.EqualFold(m.Key, key) {
			v = m.Val
		}
	}
	return v
}

// GetAny returns the first of keys that is present.
func (n *Node) GetAny(keys ...string) *Node {
	for _, k := range keys {
		if v := n.Get(k); v != nil {
			return v
		}
	}
	return nil
}

// StringValue returns n's string value and whether n is a string.
func (n *Node) StringValue() (string, bool) {
	if n == nil || n.Kind != String {
		return "", false
	}
	return n.Text, true
}

// BoolValue returns n's boolean value; strings "true"/"false" count too,
// since hand-written customization sometimes quotes them.
func (n *Node) BoolValue() (v, ok bool) {
	if n == nil {
		return false, false
	}
	switch n.Kind {
	case Bool:
		return n.Bool, true
	case String:
		switch strings.ToLower(strings.TrimSpace(n.Text)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// StringList returns the strings of an Array node, or of a single string.
func (n *Node) StringList() ([]string, bool) {
	if n == nil {
		return nil, false
	}
	if s, ok := n.StringValue(); ok {
		return []string{s}, true
	}
	if n.Kind != Array {
		return nil, false
	}
	out := make([]string, 0, len(n.Elems))
	for _, e := range n.Elems {
		s, ok := e.StringValue()
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
