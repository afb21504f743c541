package psparse

import (
	"unicode"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

// word reads a bare word: a command or member name, a keyword, or an
// unquoted argument such as C:\temp or RealmJoin.RunbookHelper. The first
// character is always taken.
func (l *lexer) word() {
	start, src, member := l.off, l.src, l.member
	i := start
	escaped := false
	if src[i] == '`' {
		i, escaped = l.skipEscape(i), true
	} else {
		_, s := utf8.DecodeRune(src[i:])
		i += s
	}
loop:
	for i < len(src) {
		c := src[i]
		if c >= utf8.RuneSelf {
			r, s := utf8.DecodeRune(src[i:])
			if unicode.IsSpace(r) || isSingleQuote(r) || isDoubleQuote(r) || isDash(r) || r == 0xFEFF ||
				(member && !unicode.IsLetter(r) && !unicode.IsDigit(r)) {
				break
			}
			i += s
			continue
		}
		switch {
		case isNameByte(c):
			i++
		case c == '`':
			if n := l.peek(i + 1); n == '\n' || n == '\r' || i+1 >= len(src) {
				break loop
			}
			i, escaped = l.skipEscape(i), true
		case member:
			break loop
		case c == '-' || c == '.':
			if n := l.peek(i + 1); isNameByte(n) || (n >= utf8.RuneSelf && isLetterAt(src, i+1)) {
				i++
				continue
			}
			break loop
		case c == ':':
			if n := l.peek(i + 1); n != ':' && (isNameByte(n) || n == '\\' || n == '/') {
				i++
				continue
			}
			break loop
		case c == '\\' || c == '/' || c == '~' || c == '^':
			i++
		default:
			break loop
		}
	}
	if !member && !escaped {
		if kw := keywordOf(src[start:i]); kw != "" {
			l.emit(Keyword, start, i, kw)
			return
		}
	}
	if escaped {
		l.emit(Word, start, i, unescapeWord(src[start:i]))
		return
	}
	l.emitSub(Word, start, i, start, i)
}

// skipEscape returns the offset after the backtick escape at i.
func (l *lexer) skipEscape(i int) int {
	if i+1 >= len(l.src) {
		return i + 1
	}
	_, s := utf8.DecodeRune(l.src[i+1:])
	return i + 1 + s
}

func unescapeWord(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '`' && i+1 < len(b) {
			i++
		}
		out = append(out, b[i])
	}
	return string(out)
}

// dollar reads $name, ${name}, $scope:name, the automatic $$ $? $^, or $(.
func (l *lexer) dollar() *runbooker.ParseError {
	start, src := l.off, l.src
	c := l.peek(start + 1)
	switch {
	case c == '(':
		l.push(start, ')')
		l.emit(SubExpression, start, start+2, "$(")
	case c == '{':
		var name []byte
		for i := start + 2; i < len(src); i++ {
			switch src[i] {
			case '}':
				l.emit(Variable, start, i+1, string(name))
				return nil
			case '`':
				if i+1 < len(src) {
					i++
				}
			}
			name = append(name, src[i])
		}
		return l.pos.errorAt(start, "missing closing '}' of the variable name")
	case c == '$' || c == '?' || c == '^':
		l.emitSub(Variable, start, start+2, start+1, start+2)
	case isNameByte(c) || (c >= utf8.RuneSelf && isLetterAt(src, start+1)):
		i := l.name(start + 1)
		if l.peek(i) == ':' && l.peek(i+1) != ':' {
			if n := l.peek(i + 1); isNameByte(n) || (n >= utf8.RuneSelf && isLetterAt(src, i+1)) {
				i = l.name(i + 1) // $script:x, $env:Path
			}
		}
		l.emitSub(Variable, start, i, start+1, i)
	default:
		l.emit(Word, start, start+1, "$")
	}
	return nil
}

// name returns the end of the run of name characters starting at i.
func (l *lexer) name(i int) int {
	for i < len(l.src) {
		if c := l.src[i]; isNameByte(c) {
			i++
		} else if c >= utf8.RuneSelf && isLetterAt(l.src, i) {
			_, s := utf8.DecodeRune(l.src[i:])
			i += s
		} else {
			break
		}
	}
	return i
}

// at reads the forms starting with '@': here-strings, @( @{, @splat.
func (l *lexer) at() *runbooker.ParseError {
	start := l.off
	c := l.peek(start + 1)
	switch c {
	case '\'':
		return l.hereString(start, 2, false)
	case '"':
		return l.hereString(start, 2, true)
	case '(':
		l.push(start, ')')
		l.emit(ArrayExpression, start, start+2, "@(")
		return nil
	case '{':
		l.push(start, '}')
		l.emit(HashtableStart, start, start+2, "@{")
		return nil
	}
	if c >= utf8.RuneSelf {
		r, s := utf8.DecodeRune(l.src[start+1:])
		if isSingleQuote(r) {
			return l.hereString(start, 1+s, false)
		}
		if isDoubleQuote(r) {
			return l.hereString(start, 1+s, true)
		}
	}
	if isNameByte(c) || (c >= utf8.RuneSelf && isLetterAt(l.src, start+1)) {
		end := l.name(start + 1)
		l.emitSub(SplatVariable, start, end, start+1, end)
		return nil
	}
	l.emit(Operator, start, start+1, "@")
	return nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isNameStartByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// isLetterAt reports whether the (non-ASCII) rune at src[i] is a letter or digit.
func isLetterAt(src []byte, i int) bool {
	r, _ := utf8.DecodeRune(src[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isSingleQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B'
}

func isDoubleQuote(r rune) bool {
	return r == '"' || r == '\u201C' || r == '\u201D' || r == '\u201E'
}

func isDash(r rune) bool { return r == '\u2013' || r == '\u2014' || r == '\u2015' }

// isOperatorName reports whether -name (lower case) is an operator.
func isOperatorName(name string) bool {
	switch name {
	case "and", "or", "xor", "not", "band", "bor", "bxor", "bnot", "shl", "shr",
		"is", "isnot", "as", "f", "join", "split", "replace", "in", "notin",
		"contains", "notcontains", "like", "notlike", "match", "notmatch",
		"eq", "ne", "gt", "ge", "lt", "le":
		return true
	}
	if len(name) > 2 && (name[0] == 'c' || name[0] == 'i') {
		switch name[1:] {
		case "eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
			"contains", "notcontains", "in", "notin", "replace", "split":
			return true
		}
	}
	return false
}

// keywords maps each PowerShell keyword to itself; looking up a converted
// byte slice does not allocate. Read only.
var keywords = keywordSet("begin", "break", "catch", "class", "clean", "continue", "data", "define", "do",
	"dynamicparam", "else", "elseif", "end", "enum", "exit", "filter", "finally", "for",
	"foreach", "from", "function", "hidden", "if", "in", "param", "process", "return",
	"static", "switch", "throw", "trap", "try", "until", "using", "var", "while",
	"workflow", "parallel", "sequence", "inlinescript", "configuration")

func keywordSet(words ...string) map[string]string {
	m := make(map[string]string, len(words))
	for _, w := range words {
		m[w] = w
	}
	return m
}

// keywordOf returns the lower-case keyword spelled by b, or "".
func keywordOf(b []byte) string {
	if len(b) < 2 || len(b) > 13 {
		return ""
	}
	var buf [13]byte
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		} else if c < 'a' || c > 'z' {
			return ""
		}
		buf[i] = c
	}
	return keywords[string(buf[:len(b)])]
}
