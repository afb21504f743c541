package psparse

import (
	"strings"
	"unicode/utf8"
)

// dash handles '-' (or an en/em dash of width bytes): -Parameter,
// -operator, --%, --, -=, or a plain minus.
func (l *lexer) dash(width int) {
	start := l.off
	i := start + width
	c := l.peek(i)
	if isNameStartByte(c) || (c >= utf8.RuneSelf && isLetterAt(l.src, i)) {
		j := i
		for j < len(l.src) {
			if b := l.src[j]; isNameByte(b) {
				j++
			} else if b >= utf8.RuneSelf && isLetterAt(l.src, j) {
				_, s := utf8.DecodeRune(l.src[j:])
				j += s
			} else {
				break
			}
		}
		name := l.str[i:j]
		if lower := strings.ToLower(name); isOperatorName(lower) {
			l.emit(Operator, start, j, lower)
			return
		}
		end := j
		if l.peek(j) == ':' && l.peek(j+1) != ':' {
			end++
		}
		l.emitSub(Parameter, start, end, i, j)
		return
	}
	switch {
	case c == '-' && l.peek(i+1) == '%':
		end := i + 2
		for end < len(l.src) && l.src[end] != '\n' && l.src[end] != '\r' {
			end++
		}
		l.emitSub(Word, start, end, i+2, end) // --% stops parsing: the rest of the line is verbatim
	case c == '-':
		l.emit(Operator, start, i+1, "--")
	case c == '=':
		l.emit(Operator, start, i+1, "-=")
	default:
		l.emit(Operator, start, i, "-")
	}
}

// dot handles '.': a number like .5, the range operator '..', member access,
// dot-sourcing, or the start of a relative path word.
func (l *lexer) dot() {
	c := l.peek(l.off + 1)
	switch {
	case c == '.':
		l.emit(Operator, l.off, l.off+2, "..")
	case l.afterValue():
		l.emit(Operator, l.off, l.off+1, ".")
	case c >= '0' && c <= '9':
		if !l.number() {
			l.word()
		}
	case c == '\\' || c == '/':
		l.word()
	default:
		l.emit(Operator, l.off, l.off+1, ".")
		l.member = false // dot-sourcing: a command follows, not a member
	}
}

// operatorLen returns the length of the punctuation operator at l.off, or 0.
func (l *lexer) operatorLen() int {
	c, d := l.peek(l.off), l.peek(l.off+1)
	switch c {
	case '=', '!', '<':
		return 1
	case '+':
		if d == '+' || d == '=' {
			return 2
		}
		return 1
	case '*':
		if d == '=' || (d == '>' && l.peek(l.off+2) != '>') {
			return 2
		}
		if d == '>' {
			return 3
		}
		return 1
	case '/', '%':
		if d == '=' {
			return 2
		}
		return 1
	case '|':
		if d == '|' {
			return 2
		}
		return 1
	case '&':
		if d == '&' {
			return 2
		}
		return 1
	case '>':
		if d == '>' {
			return 2
		}
		return 1
	case '?':
		if d == '?' && l.peek(l.off+2) == '=' {
			return 3
		}
		if d == '?' || d == '.' {
			return 2
		}
		return 1
	case ':':
		if d == ':' {
			return 2
		}
		return 1
	}
	return 0
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
