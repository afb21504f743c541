package psparse

import (
	"errors"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// render shows tokens as "Kind:Value", newlines left out, for compact tables.
func render(toks []Token) string {
	var parts []string
	for _, t := range toks {
		if t.Kind == Newline {
			continue
		}
		parts = append(parts, t.Kind.String()+":"+t.Value)
	}
	return strings.Join(parts, " ")
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"line comment", "# hello\n$x", "LineComment: hello Variable:x"},
		{"block comment", "<# a\nb #>1", "BlockComment: a\nb  Number:1"},
		{"block comment is not nested", "<# <# #> 2", "BlockComment: <#  Number:2"},
		{"single quoted doubled", `'it''s'`, "String:it's"},
		{"single quoted keeps backtick and dollar", "'a`n $x'", "String:a`n $x"},
		{"double quoted escapes", "\"a`tb`n`\"c`$d\"", "ExpandableString:a\tb\n\"c$d"},
		{"double quoted doubled quote", `"say ""hi"""`, `ExpandableString:say "hi"`},
		{"double quoted unicode escape", "\"`u{263A}\"", "ExpandableString:\u263a"},
		{"subexpression with nested string", `"a $("b)" + 'c') d"`, `ExpandableString:a $("b)" + 'c') d`},
		{"subexpression nested twice", `"x $("y $("z")")"`, `ExpandableString:x $("y $("z")")`},
		{"typographic quotes", "\u2018it\u2019\u2019s\u2019 \u201chi\u201d", "String:it\u2019s ExpandableString:hi"},
		{"verbatim here-string", "@'\nline $x\n'quoted'\n'@", "HereString:line $x\n'quoted'"},
		{"expandable here-string", "@\"\n\"q\" `$a $(1)\n\"@", "ExpandableHereString:\"q\" $a $(1)"},
		{"here-string crlf", "@'\r\na\r\nb\r\n'@", "HereString:a\r\nb"},
		{"empty here-string", "@'\n'@", "HereString:"},
		{"here-string header blanks", "@'  \nx\n'@", "HereString:x"},
		{"terminator must start a line", "@'\n x '@\n'@", "HereString: x '@"},
		{"here-string nested in subexpression", "@\"\n$(if ($a) {\n@\"\ninner\n\"@\n})\n\"@", "ExpandableHereString:$(if ($a) {\n@\"\ninner\n\"@\n})"},
		{"variables", "$x $_ $$ $? $script:count $env:Path ${a b} ${x`}y}", "Variable:x Variable:_ Variable:$ Variable:? Variable:script:count Variable:env:Path Variable:a b Variable:x}y"},
		{"automatic booleans", "$true $FALSE $Null", "Variable:true Variable:FALSE Variable:Null"},
		{"splat and arrays", "@params @(1) @{a=1}", "SplatVariable:params ArrayExpression:@( Number:1 RParen:) HashtableStart:@{ Word:a Operator:= Number:1 RBrace:}"},
		{"numbers", "42 0x1F 0XfF 1.5 .5 1e3 2E-2 10L 1kb 3MB 1.5kb 7d 0b101 1gb", "Number:42 Number:31 Number:255 Number:1.5 Number:0.5 Number:1000.0 Number:0.02 Number:10 Number:1024 Number:3145728 Number:1536.0 Number:7.0 Number:5 Number:1073741824"},
		{"huge number widens to float", "99999999999999999999", "Number:1e+20"},
		{"not numbers", "7zip 1st", "Word:7zip Word:1st"},
		{"range", "1..10", "Number:1 Operator:.. Number:10"},
		{"types", "[string] [string[]] [System.DateTime] [ int ] [int[,]]", "Type:string Type:string[] Type:System.DateTime Type:int Type:int[,]"},
		{"generic types", "[System.Collections.Generic.Dictionary[string, [int]]] [List`1]", "Type:System.Collections.Generic.Dictionary[string,[int]] Type:List`1"},
		{"attribute", "[Parameter(Mandatory=$true)]", "Attribute:Parameter LParen:( Word:Mandatory Operator:= Variable:true RParen:) RBracket:]"},
		{"attribute then type", "[Parameter()][string]$x", "Attribute:Parameter LParen:( RParen:) RBracket:] Type:string Variable:x"},
		{"lower case attribute", "[parameter(mandatory)]", "Attribute:parameter LParen:( Word:mandatory RParen:) RBracket:]"},
		{"indexing", "$a[0] $h['k'][1]", "Variable:a LBracket:[ Number:0 RBracket:] Variable:h LBracket:[ String:k RBracket:] LBracket:[ Number:1 RBracket:]"},
		{"static member", "[math]::Floor(2.5)", "Type:math Operator::: Word:Floor LParen:( Number:2.5 RParen:)"},
		{"member access", "$x.Count.ToString()", "Variable:x Operator:. Word:Count Operator:. Word:ToString LParen:( RParen:)"},
		{"keywords any case", "PARAM Param function If", "Keyword:param Keyword:param Keyword:function Keyword:if"},
		{"command words", "Use-RJInterface -Type Graph -Entity User", "Word:Use-RJInterface Parameter:Type Word:Graph Parameter:Entity Word:User"},
		{"parameter with colon", "-Date:$true -Confirm:$false", "Parameter:Date Variable:true Parameter:Confirm Variable:false"},
		{"operators", "$a -eq 1 -and $b -NotLike 'x' -f $c", "Variable:a Operator:eq Number:1 Operator:and Variable:b Operator:notlike String:x Operator:f Variable:c"},
		{"unary minus", "-5 - 3", "Operator:- Number:5 Operator:- Number:3"},
		{"punctuation", "a = b += c; d, e | f && g ++ --", "Word:a Operator:= Word:b Operator:+= Word:c Semicolon:; Word:d Comma:, Word:e Operator:| Word:f Operator:&& Word:g Operator:++ Operator:--"},
		{"dotted word", "#x\nRealmJoin.RunbookHelper C:\\temp\\x.txt", "LineComment:x Word:RealmJoin.RunbookHelper Word:C:\\temp\\x.txt"},
		{"line continuation", "Set-X `\n  -Name a", "Word:Set-X Parameter:Name Word:a"},
		{"line continuation crlf", "Set-X `\r\n  -Name a", "Word:Set-X Parameter:Name Word:a"},
		{"escaped word", "a` b", "Word:a b"},
		{"en dash parameter", "Get-X \u2013Name y", "Word:Get-X Parameter:Name Word:y"},
		{"stop parsing", "cmd --% /x $y\nz", "Word:cmd Word: /x $y Word:z"},
		{"bom", "\ufeff$x", "Variable:x"},
		{"scriptblock", "{ $_ }", "LBrace:{ Variable:_ RBrace:}"},
		{"dot sourcing", ". .\\lib.ps1", "Operator:. Word:.\\lib.ps1"},
		{"null conditional", "$a ?? 'b'", "Variable:a Operator:?? String:b"},
		{"redirection", "x 2>&1", "Word:x Number:2 Operator:> Operator:& Number:1"},
		{"hash inside word is a comment", "a#b", "Word:a LineComment:b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := Tokenize([]byte(tt.src))
			if err != nil {
				t.Fatalf("Tokenize(%q): %v", tt.src, err)
			}
			if got := render(toks); got != tt.want {
				t.Errorf("Tokenize(%q)\n got %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}
}

func TestTokenPositions(t *testing.T) {
	src := "\ufeffparam(\r\n  [string] $x, # c\r\n\t$y = \"\u00e4\u00f6\" + $z\r\n)"
	toks, err := Tokenize([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int{"param": {1, 1}, "(": {1, 6}, "[string]": {2, 3}, "$x": {2, 12}, "# c": {2, 16},
		"$y": {3, 2}, "\"\u00e4\u00f6\"": {3, 7}, "+": {3, 12}, "$z": {3, 14}, ")": {4, 1}}
	seen := 0
	for _, tok := range toks {
		if w, ok := want[tok.Text]; ok {
			seen++
			if tok.Line != w[0] || tok.Col != w[1] {
				t.Errorf("%q at %d:%d, want %d:%d", tok.Text, tok.Line, tok.Col, w[0], w[1])
			}
		}
		if got := src[tok.Offset:tok.End]; got != tok.Text {
			t.Errorf("src[Offset:End] = %q, Text %q", got, tok.Text)
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d of %d expected tokens: %s", seen, len(want), render(toks))
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"unterminated single quote", "$a = 1\n$b = 'abc", 2, 6, "unterminated string"},
		{"unterminated double quote", "x\n  \"abc `\" def", 2, 3, "unterminated string"},
		{"unterminated inside subexpression", `"a $(b`, 1, 1, "unterminated string"},
		{"unterminated here-string", "$x = @'\nabc\n '@", 1, 6, "unterminated here-string"},
		{"unterminated expandable here-string", "\n\n  @\"\nabc", 3, 3, "unterminated here-string"},
		{"text after here-string header", "@\" abc\n\"@", 1, 4, "here-string header"},
		{"unterminated block comment", "1\n<# abc", 2, 1, "unterminated block comment"},
		{"unterminated braced variable", "${abc", 1, 1, "variable name"},
		{"param without close", "param(\n  [string] $x,\n  [int] $y\n", 1, 6, "missing closing ')'"},
		{"unclosed attribute", "param(\n[Parameter(Mandatory)\n[string]$x)", 3, 11, "missing closing ']' for the bracket at line 2, column 1"},
		{"unbalanced close paren", "$x = (1 + 2))", 1, 13, "unexpected ')'"},
		{"mismatched brackets", "if ($a) { $b )", 1, 14, "missing closing '}'"},
		{"unclosed brace", "function f {\n  if ($a) {\n}", 1, 12, "missing closing '}'"},
		{"unclosed index", "$a[0", 1, 3, "missing closing ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Tokenize([]byte(tt.src))
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Tokenize(%q) error = %v, want *runbooker.ParseError", tt.src, err)
			}
			if pe.Source != "script" || pe.Line != tt.line || pe.Column != tt.col || !strings.Contains(pe.Message, tt.msg) {
				t.Errorf("Tokenize(%q) = %s:%d:%d %q, want script:%d:%d containing %q",
					tt.src, pe.Source, pe.Line, pe.Column, pe.Message, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestLineEndings(t *testing.T) {
	for _, src := range []string{"$a\n\n  $b", "$a\r\n\r\n  $b", "$a\r\r  $b", "\ufeff$a\n\r\n  $b"} {
		toks, err := Tokenize([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		last := toks[len(toks)-1]
		if last.Text != "$b" || last.Line != 3 || last.Col != 3 {
			t.Errorf("%q: last token %q at %d:%d, want $b at 3:3", src, last.Text, last.Line, last.Col)
		}
	}
}
