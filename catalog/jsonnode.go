package catalog

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// toAny converts n to the values encoding/json would produce.
func (n *jnode) toAny() any {
	switch n.kind {
	case jBool:
		return n.b
	case jNumber:
		return n.num
	case jString:
		return n.text
	case jArray:
		out := make([]any, len(n.arr))
		for i, e := range n.arr {
			out[i] = e.toAny()
		}
		return out
	case jObject:
		out := make(map[string]any, len(n.obj))
		for _, m := range n.obj {
			out[m.key] = m.val.toAny()
		}
		return out
	}
	return nil
}

// appendJSON writes n as strict JSON. Of duplicate keys only the last is
// written (in its own position), matching what a decoder would keep.
func (n *jnode) appendJSON(b []byte) []byte {
	switch n.kind {
	case jNull:
		return append(b, "null"...)
	case jBool:
		if n.b {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case jNumber:
		return append(b, n.text...)
	case jString:
		return appendJSONString(b, n.text)
	case jArray:
		b = append(b, '[')
		for i, e := range n.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendJSON(b)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	first := true
	for i, m := range n.obj {
		if laterKey(n.obj[i+1:], m.key) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, m.key)
		b = append(b, ':')
		b = m.val.appendJSON(b)
	}
	return append(b, '}')
}

func laterKey(ms []jmember, key string) bool {
	for _, m := range ms {
		if m.key == key {
			return true
		}
	}
	return false
}

// appendJSONString quotes s with the escapes JSON needs and nothing more,
// so customization text (`&`, `<`) stays readable when stored.
func appendJSONString(b []byte, s string) []byte {
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

// get returns the member named key, matched case-insensitively as
// RealmJoin does; the last match wins. Nil-safe.
func (n *jnode) get(key string) *jnode {
	if n == nil || n.kind != jObject {
		return nil
	}
	var v *jnode
	for _, m := range n.obj {
		if strings.EqualFold(m.key, key) {
			v = m.val
		}
	}
	return v
}

// getAny returns the first of keys that is present.
func (n *jnode) getAny(keys ...string) *jnode {
	for _, k := range keys {
		if v := n.get(k); v != nil {
			return v
		}
	}
	return nil
}

// strValue returns n's string value and whether n is a string.
func (n *jnode) strValue() (string, bool) {
	if n == nil || n.kind != jString {
		return "", false
	}
	return n.text, true
}

// boolValue returns n's boolean value; strings "true"/"false" count too,
// since hand-written customization sometimes quotes them.
func (n *jnode) boolValue() (v, ok bool) {
	if n == nil {
		return false, false
	}
	switch n.kind {
	case jBool:
		return n.b, true
	case jString:
		switch strings.ToLower(strings.TrimSpace(n.text)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// stringList returns the strings of an array node, or of a single string.
func (n *jnode) stringList() ([]string, bool) {
	if n == nil {
		return nil, false
	}
	if s, ok := n.strValue(); ok {
		return []string{s}, true
	}
	if n.kind != jArray {
		return nil, false
	}
	out := make([]string, 0, len(n.arr))
	for _, e := range n.arr {
		s, ok := e.strValue()
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// str reads a double-quoted string at p.pos. Invalid UTF-8 and lone
// surrogates become U+FFFD, as encoding/json does.
func (p *jsonParser) str() (string, error) {
	start := p.pos
	p.pos++ // "
	var b []byte
	for {
		if p.pos >= len(p.src) {
			return "", p.errAt(start, "unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(b), nil
		case c == '\\':
			if p.pos+1 >= len(p.src) {
				return "", p.errAt(start, "unterminated string")
			}
			esc := p.src[p.pos+1]
			p.pos += 2
			switch esc {
			case '"', '\\', '/':
				b = append(b, esc)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4(p.pos)
				if !ok {
					return "", p.errAt(p.pos-2, `malformed \u escape: want four hex digits`)
				}
				p.pos += 4
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(-1), false
					if p.pos+6 <= len(p.src) && p.src[p.pos] == '\\' && p.src[p.pos+1] == 'u' {
						r2, ok2 = p.hex4(p.pos + 2)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						p.pos += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", p.errAt(p.pos-2, "unknown escape \\%c in string", esc)
			}
		case c < 0x20 && c != '\t':
			if c == '\n' || c == '\r' {
				return "", p.errAt(start, "unterminated string (strings cannot span lines; use \\n)")
			}
			return "", p.errAt(p.pos, "control character %#02x in string", c)
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, p.src[p.pos:p.pos+size]...)
			}
			p.pos += size
		}
	}
}

func (p *jsonParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.src) {
		return 0, false
	}
	var r rune
	for _, c := range p.src[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// position converts a byte offset into a 1-based line and a 1-based column
// counted in characters.
func position(src []byte, off int) (line, col int) {
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
