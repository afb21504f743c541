package psparse

import (
	"bytes"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

// lineComment reads '#' up to the end of the line.
func (l *lexer) lineComment() {
	start := l.off
	end := start + 1
	for end < len(l.src) && l.src[end] != '\n' && l.src[end] != '\r' {
		end++
	}
	l.emitSub(LineComment, start, end, start+1, end)
}

// blockComment reads <# … #>. Block comments do not nest.
func (l *lexer) blockComment() *runbooker.ParseError {
	start := l.off
	i := bytes.Index(l.src[start+2:], []byte("#>"))
	if i < 0 {
		return l.pos.errorAt(start, "unterminated block comment: missing '#>'")
	}
	end := start + 2 + i
	l.emitSub(BlockComment, start, end+2, start+2, end)
	return nil
}

// quoteAt reports whether a quote of the given class (double or single,
// typographic variants included) is at i, and its width in bytes.
func (l *lexer) quoteAt(i int, double bool) (bool, int) {
	if i >= len(l.src) {
		return false, 0
	}
	c := l.src[i]
	if c < utf8.RuneSelf {
		if double {
			return c == '"', 1
		}
		return c == '\'', 1
	}
	r, s := utf8.DecodeRune(l.src[i:])
	if double {
		return isDoubleQuote(r), s
	}
	return isSingleQuote(r), s
}

// singleQuoted reads a verbatim string; a doubled quote stands for one.
func (l *lexer) singleQuoted(start, qw int) *runbooker.ParseError {
	i := start + qw
	var buf []byte
	seg := i
	for i < len(l.src) {
		if q, w := l.quoteAt(i, false); q {
			if q2, w2 := l.quoteAt(i+w, false); q2 {
				buf = append(buf, l.src[seg:i+w]...)
				i += w + w2
				seg = i
				continue
			}
			if buf == nil {
				l.emitSub(String, start, i+w, start+qw, i)
			} else {
				l.emit(String, start, i+w, string(append(buf, l.src[seg:i]...)))
			}
			return nil
		}
		i++
	}
	return l.pos.errorAt(start, "unterminated string: missing closing quote (')")
}

// doubleQuoted reads an expandable string: backtick escapes, doubled
// quotes and $(…) subexpressions, which may contain anything, strings too.
// The value is a slice of the source unless an escape changes it.
func (l *lexer) doubleQuoted(start, qw int) *runbooker.ParseError {
	i := start + qw
	var buf []byte
	seg := i
	for i < len(l.src) {
		c := l.src[i]
		switch {
		case c == '`':
			if i+1 >= len(l.src) {
				return l.pos.errorAt(start, "unterminated string: missing closing quote (\")")
			}
			buf = append(buf, l.src[seg:i]...)
			buf, i = l.escape(buf, i)
			seg = i
			continue
		case c == '$' && l.peek(i+1) == '(':
			err, eof := l.subexpression(i)
			if err != nil {
				return err
			}
			if eof {
				return l.pos.errorAt(start, "unterminated string: missing closing quote (\")")
			}
			i = l.off
			continue
		}
		if q, w := l.quoteAt(i, true); q {
			if q2, w2 := l.quoteAt(i+w, true); q2 {
				buf = append(append(buf, l.src[seg:i]...), '"')
				i += w + w2
				seg = i
				continue
			}
			if buf == nil {
				l.emitSub(ExpandableString, start, i+w, start+qw, i)
			} else {
				l.emit(ExpandableString, start, i+w, string(append(buf, l.src[seg:i]...)))
			}
			return nil
		}
		i++
	}
	return l.pos.errorAt(start, "unterminated string: missing closing quote (\")")
}

// subexpression scans the $( … ) starting at i inside a string. Its tokens
// are not kept: the string token carries the source text. eof reports that
// the input ended before the closing ')'.
func (l *lexer) subexpression(i int) (err *runbooker.ParseError, eof bool) {
	if l.nest >= maxNesting {
		return l.pos.errorAt(i, "subexpressions nested too deeply"), false
	}
	l.nest++
	ntoks, member := len(l.toks), l.member
	l.push(i, ')')
	stop := len(l.stack) - 1
	l.off = i + 2
	err, eof = l.scan(stop)
	l.toks, l.member = l.toks[:ntoks], member
	l.nest--
	if eof {
		l.stack = l.stack[:stop]
	}
	return err, eof
}

// escape decodes the backtick escape at i into buf.
func (l *lexer) escape(buf []byte, i int) ([]byte, int) {
	c := l.src[i+1]
	switch c {
	case '0':
		return append(buf, 0), i + 2
	case 'a':
		return append(buf, '\a'), i + 2
	case 'b':
		return append(buf, '\b'), i + 2
	case 'e':
		return append(buf, 0x1b), i + 2
	case 'f':
		return append(buf, '\f'), i + 2
	case 'n':
		return append(buf, '\n'), i + 2
	case 'r':
		return append(buf, '\r'), i + 2
	case 't':
		return append(buf, '\t'), i + 2
	case 'v':
		return append(buf, '\v'), i + 2
	case 'u':
		if l.peek(i+2) == '{' {
			var r rune
			j := i + 3
			for j < len(l.src) && j < i+9 && digitVal(l.src[j]) < 16 {
				r = r<<4 | rune(digitVal(l.src[j]))
				j++
			}
			if j > i+3 && l.peek(j) == '}' && utf8.ValidRune(r) {
				return utf8.AppendRune(buf, r), j + 1
			}
		}
	}
	_, s := utf8.DecodeRune(l.src[i+1:])
	return append(buf, l.src[i+1:i+1+s]...), i + 1 + s
}

// hereString reads @'…'@ or @"…"@ (hw is the width of '@' plus the quote).
// The header must end its line and the terminator must start a line; the
// line breaks after the header and before the terminator are not content.
func (l *lexer) hereString(start, hw int, expandable bool) *runbooker.ParseError {
	i := start + hw
	for l.peek(i) == ' ' || l.peek(i) == '\t' {
		i++
	}
	switch {
	case i >= len(l.src):
		return l.pos.errorAt(start, "unterminated here-string: missing closing quote and '@' at the start of a line")
	case l.src[i] == '\r':
		i++
		if l.peek(i) == '\n' {
			i++
		}
	case l.src[i] == '\n':
		i++
	default:
		return l.pos.errorAt(i, "no characters are allowed after a here-string header but before the end of the line")
	}
	content := i
	var buf []byte // the value so far, once an escape made it differ from the source
	seg := i
	lineStart := true
	for i < len(l.src) {
		if lineStart {
			if q, w := l.quoteAt(i, expandable); q && l.peek(i+w) == '@' {
				k := HereString
				if expandable {
					k = ExpandableHereString
				}
				if buf == nil {
					l.emitSub(k, start, i+w+1, content, content+len(trimBreak(l.src[content:i])))
				} else {
					l.emit(k, start, i+w+1, string(trimBreak(append(buf, l.src[seg:i]...))))
				}
				return nil
			}
		}
		c := l.src[i]
		lineStart = c == '\n' || (c == '\r' && l.peek(i+1) != '\n')
		switch {
		case !expandable:
			i++
		case c == '`' && i+1 < len(l.src):
			buf = append(buf, l.src[seg:i]...)
			buf, i = l.escape(buf, i)
			seg = i
		case c == '$' && l.peek(i+1) == '(':
			err, eof := l.subexpression(i)
			if err != nil {
				return err
			}
			if eof {
				i = len(l.src)
				continue
			}
			i = l.off
		default:
			i++
		}
	}
	return l.pos.errorAt(start, "unterminated here-string: missing closing quote and '@' at the start of a line")
}

// trimBreak drops one trailing line break.
func trimBreak(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	} else if n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// bracket reads '[': a type literal [string[]], the start of an attribute
// [Parameter(, or a plain bracket (indexing, anything else).
func (l *lexer) bracket() {
	start := l.off
	if !l.afterValue() {
		i := l.skipBlanks(start + 1)
		if end, plain, ok := l.typeName(i, 0); ok {
			j := l.skipBlanks(end)
			switch {
			case l.peek(j) == ']':
				if bytes.IndexAny(l.src[i:end], " \t") < 0 {
					l.emitSub(Type, start, j+1, i, end)
				} else {
					l.emit(Type, start, j+1, string(stripBlanks(l.src[i:end])))
				}
				return
			case l.peek(j) == '(' && plain:
				l.stack = append(l.stack, opener{off: start, close: ']', attr: true})
				l.emitSub(Attribute, start, end, i, end)
				return
			}
		}
	}
	l.push(start, ']')
	l.emit(LBracket, start, start+1, "[")
}

func (l *lexer) skipBlanks(i int) int {
	for l.peek(i) == ' ' || l.peek(i) == '\t' {
		i++
	}
	return i
}

func stripBlanks(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != ' ' && c != '\t' {
			out = append(out, c)
		}
	}
	return out
}

// typeName scans a type name at i: dotted identifiers, then any generic
// arguments [A, [B]] and array ranks [] [,]. plain means no brackets.
func (l *lexer) typeName(i, depth int) (end int, plain, ok bool) {
	src := l.src
	if depth > 16 || i >= len(src) || !(isNameStartByte(src[i]) || (src[i] >= utf8.RuneSelf && isLetterAt(src, i))) {
		return 0, false, false
	}
	for i < len(src) {
		if c := src[i]; isNameByte(c) || c == '.' || c == '+' || c == '`' {
			i++
		} else if c >= utf8.RuneSelf && isLetterAt(src, i) {
			_, s := utf8.DecodeRune(src[i:])
			i += s
		} else {
			break
		}
	}
	plain = true
	for l.peek(i) == '[' {
		j := l.skipBlanks(i + 1)
		if l.peek(j) == ']' || l.peek(j) == ',' { // array rank
			for l.peek(j) == ',' {
				j = l.skipBlanks(j + 1)
			}
			if l.peek(j) != ']' {
				return 0, false, false
			}
			i, plain = j+1, false
			continue
		}
		for { // generic arguments
			bracketed := l.peek(j) == '['
			if bracketed {
				j = l.skipBlanks(j + 1)
			}
			e, _, ok := l.typeName(j, depth+1)
			if !ok {
				return 0, false, false
			}
			j = l.skipBlanks(e)
			if bracketed {
				if l.peek(j) != ']' {
					return 0, false, false
				}
				j = l.skipBlanks(j + 1)
			}
			if l.peek(j) == ',' {
				j = l.skipBlanks(j + 1)
				continue
			}
			if l.peek(j) != ']' {
				return 0, false, false
			}
			i, plain = j+1, false
			break
		}
	}
	return i, plain, true
}
