package psparse

import (
	"unicode"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

// maxNesting bounds the recursion of subexpressions inside strings and of
// generic type arguments, so hostile input cannot exhaust the stack.
const maxNesting = 200

// lexer turns source bytes into tokens. It keeps a stack of unclosed
// brackets so unbalanced input is reported where it goes wrong.
type lexer struct {
	str     string // src as a string, shared by every token's Text
	src     []byte
	pos     *positions
	off     int
	toks    []Token
	stack   []opener
	nest    int  // depth of string subexpressions being scanned
	member  bool // the previous token was '.', '::' or '?.': the next word is a member name
	attrEnd int  // end offset of the last ']' that closed an attribute
}

// opener is an unclosed '(', '{' or '['.
type opener struct {
	off   int  // where it starts in the source
	close byte // the byte that closes it
	attr  bool // it is the '[' of an attribute
}

// Tokenize splits PowerShell source into tokens. Whitespace and line
// continuations (backtick-newline) produce no tokens; comments and newlines
// do. A leading byte-order mark is skipped. Broken input — an unterminated
// string, here-string, comment or variable name, or unbalanced brackets —
// yields the tokens read so far and a *runbooker.ParseError.
func Tokenize(src []byte) ([]Token, error) {
	l := newLexer(src)
	if err := l.run(); err != nil {
		return l.toks, err
	}
	return l.toks, nil
}

func newLexer(src []byte) *lexer {
	p := newPositions(src)
	return &lexer{src: src, str: string(src), pos: p, off: p.lineStarts[0], toks: make([]Token, 0, len(src)/10+16)}
}

func (l *lexer) run() *runbooker.ParseError {
	if err, _ := l.scan(-1); err != nil {
		return err
	}
	if n := len(l.stack); n > 0 {
		o := l.stack[n-1]
		return l.pos.errorAt(o.off, "missing closing '"+string(o.close)+"'")
	}
	return nil
}

// scan reads tokens until the end of input or, when stop >= 0, until the
// opener at stack index stop has been closed. eof reports that the input
// ended first.
func (l *lexer) scan(stop int) (err *runbooker.ParseError, eof bool) {
	for {
		if stop >= 0 && len(l.stack) <= stop {
			return nil, false
		}
		if l.off >= len(l.src) {
			return nil, true
		}
		if err := l.next(); err != nil {
			return err, false
		}
	}
}

// emit appends a token covering src[start:end] with the given value.
func (l *lexer) emit(k Kind, start, end int, value string) {
	line, col := l.pos.at(start)
	l.toks = append(l.toks, Token{Kind: k, Text: l.str[start:end], Value: value, Line: line, Col: col, Offset: start, End: end})
	l.off = end
	l.member = k == Operator && (value == "." || value == "::" || value == "?.")
}

// emitSub appends a token whose value is the part src[vs:ve] of its text.
func (l *lexer) emitSub(k Kind, start, end, vs, ve int) {
	line, col := l.pos.at(start)
	value := l.str[vs:ve]
	l.toks = append(l.toks, Token{Kind: k, Text: l.str[start:end], Value: value, Line: line, Col: col, Offset: start, End: end})
	l.off = end
	l.member = k == Operator && (value == "::" || value == "?.")
}

func (l *lexer) peek(i int) byte {
	if i < len(l.src) {
		return l.src[i]
	}
	return 0
}

// afterValue reports whether the previous token ends exactly here and is
// something that can be indexed or have members ($a[0], (x).y, "s".Length).
func (l *lexer) afterValue() bool {
	n := len(l.toks)
	if n == 0 || l.toks[n-1].End != l.off {
		return false
	}
	switch l.toks[n-1].Kind {
	case RBracket:
		return l.toks[n-1].End != l.attrEnd // [Parameter()][string] is not indexing
	case Variable, RParen, RBrace, String, ExpandableString, HereString, ExpandableHereString, Word, Number:
		return true
	}
	return false
}

// next reads one token (or skips blanks) at l.off.
func (l *lexer) next() *runbooker.ParseError {
	c := l.src[l.off]
	switch c {
	case ' ', '\t', '\f', '\v':
		l.off++
		return nil
	case '\n':
		l.emit(Newline, l.off, l.off+1, "\n")
		return nil
	case '\r':
		end := l.off + 1
		if l.peek(end) == '\n' {
			end++
		}
		l.emit(Newline, l.off, end, "\n")
		return nil
	case '#':
		l.lineComment()
		return nil
	case '<':
		if l.peek(l.off+1) == '#' {
			return l.blockComment()
		}
		l.emit(Operator, l.off, l.off+1, "<")
		return nil
	case '`':
		return l.backtick()
	case '\'':
		return l.singleQuoted(l.off, 1)
	case '"':
		return l.doubleQuoted(l.off, 1)
	case '$':
		return l.dollar()
	case '@':
		return l.at()
	case '(', '{':
		k, closer := LParen, byte(')')
		if c == '{' {
			k, closer = LBrace, '}'
		}
		l.push(l.off, closer)
		l.emit(k, l.off, l.off+1, string(c))
		return nil
	case ')', '}', ']':
		return l.closer(c)
	case '[':
		l.bracket()
		return nil
	case ',':
		l.emit(Comma, l.off, l.off+1, ",")
		return nil
	case ';':
		l.emit(Semicolon, l.off, l.off+1, ";")
		return nil
	case '-':
		l.dash(1)
		return nil
	case '.':
		l.dot()
		return nil
	}
	if c >= '0' && c <= '9' {
		if l.number() {
			return nil
		}
		l.word()
		return nil
	}
	if op := l.operatorLen(); op > 0 {
		l.emitSub(Operator, l.off, l.off+op, l.off, l.off+op)
		return nil
	}
	if c >= utf8.RuneSelf {
		r, size := utf8.DecodeRune(l.src[l.off:])
		switch {
		case isSingleQuote(r):
			return l.singleQuoted(l.off, size)
		case isDoubleQuote(r):
			return l.doubleQuoted(l.off, size)
		case isDash(r):
			l.dash(size)
			return nil
		case unicode.IsSpace(r) || r == 0xFEFF:
			l.off += size
			return nil
		}
	}
	l.word()
	return nil
}

func (l *lexer) push(off int, closer byte) {
	l.stack = append(l.stack, opener{off: off, close: closer})
}

// closer pops the innermost opener, which must match c.
func (l *lexer) closer(c byte) *runbooker.ParseError {
	n := len(l.stack)
	if n == 0 {
		return l.pos.errorAt(l.off, "unexpected '"+string(c)+"' without a matching opening bracket")
	}
	if o := l.stack[n-1]; o.close != c {
		line, col := l.pos.at(o.off)
		return l.pos.errorAt(l.off, "unexpected '"+string(c)+"': missing closing '"+string(o.close)+
			"' for the bracket at line "+itoa(line)+", column "+itoa(col))
	}
	l.stack = l.stack[:n-1]
	if o := l.stack[:n][n-1]; o.attr {
		l.attrEnd = l.off + 1
	}
	k := RParen
	switch c {
	case '}':
		k = RBrace
	case ']':
		k = RBracket
	}
	l.emit(k, l.off, l.off+1, string(c))
	return nil
}

// backtick handles '`' outside strings: a line continuation when a line
// break follows, otherwise the escape that starts a bare word.
func (l *lexer) backtick() *runbooker.ParseError {
	i := l.off + 1
	switch l.peek(i) {
	case '\r':
		i++
		if l.peek(i) == '\n' {
			i++
		}
		l.off = i
		return nil
	case '\n':
		l.off = i + 1
		return nil
	case 0:
		if i >= len(l.src) {
			l.off = i
			return nil
		}
	}
	l.word()
	return nil
}
