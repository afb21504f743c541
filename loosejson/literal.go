package loosejson

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

func (p *parser) number() (*Node, error) {
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
	return &Node{Kind: Number, Num: f, Text: text, Off: start}, nil
}

// str reads a double-quoted string at p.pos. Invalid UTF-8 and lone
// surrogates become U+FFFD, as encoding/json does.
func (p *parser) str() (string, error) {
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

func (p *parser) hex4(at int) (rune, bool) {
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
