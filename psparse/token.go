// Package psparse reads PowerShell runbook source: a tokenizer that knows
// PowerShell's lexical rules (comments, the four string forms, variables,
// numbers, type literals, attributes, nesting) and, on top of it, an
// extractor for what a runbook declares about itself — comment-based help,
// #Requires modules, and the script-level param block with its attributes
// (including RealmJoin's Use-RJInterface UI hints).
//
// It does not execute anything and it does not build a full syntax tree: it
// understands exactly as much of the language as metadata extraction needs,
// and never panics on broken input.
package psparse

import (
	"bytes"
	"sort"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

// Kind is the lexical class of a Token.
type Kind int

// Token kinds.
const (
	EOF                  Kind = iota // end of input (Tokenize does not emit it)
	Newline                          // a line break that ends a statement
	LineComment                      // # … to end of line; Value is the text after '#'
	BlockComment                     // <# … #>; Value is the text between the delimiters
	Variable                         // $name, ${any name}, $scope:name; Value is the name without '$' and braces
	SplatVariable                    // @name; Value is the name
	String                           // '…' (verbatim); Value is the content with '' undoubled
	ExpandableString                 // "…"; Value is the content with escapes resolved, $var and $(…) kept as written
	HereString                       // @'…'@; Value is the content
	ExpandableHereString             // @"…"@; Value is the content, escapes resolved
	Number                           // 42, 0x1F, 1.5, 1e3, 4kb, 10L; Value is the canonical decimal value
	Word                             // a bare word: command, member, key, keyword-like name or unquoted argument
	Keyword                          // a PowerShell keyword (param, function, if, …); Value is lower case
	Parameter                        // -Name or -Name: ; Value is the name without '-' and ':'
	Operator                         // = += - -eq . .. :: | & ! etc.; for -op forms Value is the lower-case name
	Type                             // a type literal [string[]]; Value is the type name, blanks removed
	Attribute                        // the opening "[Name" of [Name(…)]; Value is Name. "(", args, ")" and "]" follow
	LParen                           // (
	RParen                           // )
	LBrace                           // {
	RBrace                           // }
	LBracket                         // [ (indexing or anything not a type literal)
	RBracket                         // ]
	SubExpression                    // $(
	ArrayExpression                  // @(
	HashtableStart                   // @{
	Comma                            // ,
	Semicolon                        // ;
)

var kindNames = [...]string{
	EOF: "EOF", Newline: "Newline", LineComment: "LineComment", BlockComment: "BlockComment",
	Variable: "Variable", SplatVariable: "SplatVariable", String: "String",
	ExpandableString: "ExpandableString", HereString: "HereString",
	ExpandableHereString: "ExpandableHereString", Number: "Number", Word: "Word",
	Keyword: "Keyword", Parameter: "Parameter", Operator: "Operator", Type: "Type",
	Attribute: "Attribute", LParen: "LParen", RParen: "RParen", LBrace: "LBrace",
	RBrace: "RBrace", LBracket: "LBracket", RBracket: "RBracket",
	SubExpression: "SubExpression", ArrayExpression: "ArrayExpression",
	HashtableStart: "HashtableStart", Comma: "Comma", Semicolon: "Semicolon",
}

// String returns the kind's name.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Token is one lexical element of PowerShell source.
type Token struct {
	Kind  Kind
	Text  string // the exact source text of the token
	Value string // the decoded value; see the Kind constants
	Line  int    // 1-based line of the first character
	Col   int    // 1-based column (in characters) of the first character
	// Offset and End are the byte offsets of the token in the source
	// (src[Offset:End] == Text).
	Offset, End int
}

// opens reports whether t opens a nesting level closed by ')', '}' or ']'.
func (t Token) opens() bool {
	switch t.Kind {
	case LParen, LBrace, LBracket, Attribute, SubExpression, ArrayExpression, HashtableStart:
		return true
	}
	return false
}

// closes reports whether t closes a nesting level.
func (t Token) closes() bool {
	return t.Kind == RParen || t.Kind == RBrace || t.Kind == RBracket
}

// positions maps byte offsets to 1-based line and character columns.
type positions struct {
	src        []byte
	lineStarts []int // offset of the first byte of each line
	// cache of the last computed position, to count columns incrementally
	lastOff, lastLine, lastCol int
}

func newPositions(src []byte) *positions {
	p := &positions{src: src, lineStarts: make([]int, 1, bytes.Count(src, []byte{'\n'})+2)}
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		p.lineStarts[0] = 3 // a BOM takes no column
	}
	if bytes.IndexByte(src, '\r') < 0 { // the common case: \n line ends only
		for i := bytes.IndexByte(src, '\n'); i >= 0; {
			p.lineStarts = append(p.lineStarts, i+1)
			j := bytes.IndexByte(src[i+1:], '\n')
			if j < 0 {
				break
			}
			i += 1 + j
		}
		p.lastOff, p.lastLine, p.lastCol = p.lineStarts[0], 1, 1
		return p
	}
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '\n':
			p.lineStarts = append(p.lineStarts, i+1)
		case '\r':
			if i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
			p.lineStarts = append(p.lineStarts, i+1)
		}
	}
	p.lastOff, p.lastLine, p.lastCol = p.lineStarts[0], 1, 1
	return p
}

// at returns the line and column of byte offset off.
func (p *positions) at(off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(p.src) {
		off = len(p.src)
	}
	line = sort.Search(len(p.lineStarts), func(i int) bool { return p.lineStarts[i] > off })
	if line == 0 {
		line = 1 // inside a BOM
	}
	start := p.lineStarts[line-1]
	if off < start {
		return line, 1
	}
	switch {
	case line == p.lastLine && off >= p.lastOff:
		col = p.lastCol + utf8.RuneCount(p.src[p.lastOff:off])
	case line == p.lastLine && off-start > p.lastOff-off:
		// a string token is placed after the tokens of its subexpressions:
		// count back from there rather than from the start of a long line
		col = p.lastCol - utf8.RuneCount(p.src[off:p.lastOff])
	default:
		col = 1 + utf8.RuneCount(p.src[start:off])
	}
	p.lastOff, p.lastLine, p.lastCol = off, line, col
	return line, col
}

// errorAt builds the ParseError for a problem at byte offset off.
func (p *positions) errorAt(off int, msg string) *runbooker.ParseError {
	line, col := p.at(off)
	return &runbooker.ParseError{Source: "script", Line: line, Column: col, Message: msg}
}
