package psparse

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

type P = runbooker.Parameter

func ptrF(f float64) *float64 { return &f }
func ptrB(b bool) *bool       { return &b }

func TestExtractParameters(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []P
	}{
		{"realmjoin mandatory user", `param(
    [Parameter(Mandatory = $true)]
    [ValidateScript( { Use-RJInterface -Type Graph -Entity User -DisplayName "User" } )]
    [String] $UserName,
    # CallerName is tracked purely for auditing purposes
    [Parameter(Mandatory = $true)]
    [string] $CallerName
)`, []P{
			{Name: "UserName", Type: "string", Mandatory: true, UI: &runbooker.UIHint{Type: "Graph", Entity: "User", DisplayName: "User"}},
			{Name: "CallerName", Type: "string", Mandatory: true, Description: "CallerName is tracked purely for auditing purposes"},
		}},
		{"mandatory spellings", `param(
  [Parameter(Mandatory)] $a,
  [Parameter(Mandatory=$true)] $b,
  [Parameter(Mandatory = $false)] $c,
  [Parameter(Mandatory=1)] $d,
  [Parameter(Mandatory=0)] $e,
  [parameter(mandatory)] $f,
  [PARAMETER(MANDATORY = $TRUE)] $g,
  [Parameter()] $h,
  [Parameter(ParameterSetName = 'A')][Parameter(ParameterSetName = 'B', Mandatory)] $i,
  [Parameter(Position = 0, Mandatory = $False, ValueFromPipeline)] $j,
  [System.Management.Automation.ParameterAttribute(Mandatory = $true)] $k
)`, []P{
			{Name: "a", Type: "object", Mandatory: true},
			{Name: "b", Type: "object", Mandatory: true},
			{Name: "c", Type: "object"},
			{Name: "d", Type: "object", Mandatory: true},
			{Name: "e", Type: "object"},
			{Name: "f", Type: "object", Mandatory: true},
			{Name: "g", Type: "object", Mandatory: true},
			{Name: "h", Type: "object"},
			{Name: "i", Type: "object", Mandatory: true},
			{Name: "j", Type: "object"},
			{Name: "k", Type: "object", Mandatory: true},
		}},
		{"type normalisation", `param(
  [string]$s, [String]$s2, [System.String]$s3,
  [bool]$b, [Boolean]$b2, [System.Boolean]$b3,
  [int]$i, [Int32]$i2, [int64]$i3, [long]$i4, [System.Int32]$i5,
  [double]$f, [float]$f2, [decimal]$f3, [Single]$f4,
  [datetime]$d, [System.DateTime]$d2, [DateTimeOffset]$d3,
  [string[]]$a, [String[]]$a2, [System.String[]]$a3,
  [switch]$w, [Switch]$w2, [System.Management.Automation.SwitchParameter]$w3,
  [object]$o, [psobject]$o2, [hashtable]$o3, [pscredential]$o4, [int[]]$o5,
  [System.Collections.Generic.List[string]]$o6, [guid]$o7,
  $u
)`, []P{
			{Name: "s", Type: "string"}, {Name: "s2", Type: "string"}, {Name: "s3", Type: "string"},
			{Name: "b", Type: "bool"}, {Name: "b2", Type: "bool"}, {Name: "b3", Type: "bool"},
			{Name: "i", Type: "int"}, {Name: "i2", Type: "int"}, {Name: "i3", Type: "int"}, {Name: "i4", Type: "int"}, {Name: "i5", Type: "int"},
			{Name: "f", Type: "float"}, {Name: "f2", Type: "float"}, {Name: "f3", Type: "float"}, {Name: "f4", Type: "float"},
			{Name: "d", Type: "datetime"}, {Name: "d2", Type: "datetime"}, {Name: "d3", Type: "datetime"},
			{Name: "a", Type: "string[]"}, {Name: "a2", Type: "string[]"}, {Name: "a3", Type: "string[]"},
			{Name: "w", Type: "switch"}, {Name: "w2", Type: "switch"}, {Name: "w3", Type: "switch"},
			{Name: "o", Type: "object"}, {Name: "o2", Type: "object"}, {Name: "o3", Type: "object"}, {Name: "o4", Type: "object"}, {Name: "o5", Type: "object"},
			{Name: "o6", Type: "object"}, {Name: "o7", Type: "object"},
			{Name: "u", Type: "object"},
		}},
		{"validation attributes", `param(
  [ValidateSet("Keep", 'Convert', "Delete")] [string] $Mode,
  [ValidateSet("a", "b", IgnoreCase = $false)] $Strict,
  [validateset(1, 2, 3)] [int] $Level,
  [ValidateRange(1, 10)] [int] $Count = 5,
  [ValidateRange(-5, 0.5)] $Offset,
  [ValidateRange(0, [int]::MaxValue)] $Big,
  [ValidateRange("Positive")] $Pos,
  [ValidateRange([System.Management.Automation.ValidateRangeKind]::NonNegative)] $NonNeg,
  [ValidateNotNullOrEmpty()][ValidatePattern('^\d+$')][ValidateLength(1, 5)] [string] $Code
)`, []P{
			{Name: "Mode", Type: "string", ValidateSet: []string{"Keep", "Convert", "Delete"}},
			{Name: "Strict", Type: "object", ValidateSet: []string{"a", "b"}},
			{Name: "Level", Type: "int", ValidateSet: []string{"1", "2", "3"}},
			{Name: "Count", Type: "int", Default: int64(5), ValidateRange: &runbooker.Range{Min: 1, Max: 10}},
			{Name: "Offset", Type: "object", ValidateRange: &runbooker.Range{Min: -5, Max: 0.5}},
			{Name: "Big", Type: "object", ValidateRange: &runbooker.Range{Min: 0, Max: math.MaxInt32}},
			{Name: "Pos", Type: "object", ValidateRange: &runbooker.Range{Min: math.SmallestNonzeroFloat64, Max: math.MaxFloat64}},
			{Name: "NonNeg", Type: "object", ValidateRange: &runbooker.Range{Min: 0, Max: math.MaxFloat64}},
			{Name: "Code", Type: "string"},
		}},
		{"use-rjinterface forms", `param(
  [ValidateScript( { Set-ExecutionPolicy -ExecutionPolicy Bypass -Scope Process; Use-RJInterface -Type Setting -Attribute "Offboard.revokeAccess" } )]
  [bool] $a = $true,
  [ValidateScript({ Use-RjRbInterface -Type Graph -Entity Group })] [string[]] $b,
  [ValidateScript( { use-rjinterface -type graph -entity device -filter "operatingSystem eq 'Windows'" } )] $c,
  [ValidateScript( { Use-RjRbInterface Graph -Entity user -Filter "userType eq 'Guest'" } )] $d,
  [ValidateScript( { Use-RjRbInterface -Date -MaxValue "2022-01-01" } )] [DateTime] $e,
  [ValidateScript( { Use-RJInterface -Type DateTime -Date:$true -Time:$false } )] $f,
  [ValidateScript( { Use-RJInterface -Type Number -MinValue 1 -MaxValue 10 } )] [int] $g,
  [ValidateScript( { Use-RJInterface -Type Number -MinValue -5 -MaxValue '2.5' } )] $h,
  [ValidateScript( { Use-RJInterface -Type Textarea -Description 'Shown below' -Disp "Note" } )] $i,
  [ValidateScript( { Use-RJInterface -Type Setting -Attribute Offboard.groupToAdd -Value "G1" } )] $j,
  [ValidateScript( { Use-RJRbInterface -Value 5 } )] $k,
  [ValidateScript( {
      $x = 1
      Use-RJInterface -Type Graph ‵
          -Entity User
  } )] $l,
  [ValidateScript({ $_ -gt 0 })] $m,
  [ValidateScript( { Use-RJInterface –Type Graph –DisplayName “Pasted ‘from’ Word” -Entity:'Group' } )] $n
)`, []P{
			{Name: "a", Type: "bool", Default: true, UI: &runbooker.UIHint{Type: "Setting", Attribute: "Offboard.revokeAccess"}},
			{Name: "b", Type: "string[]", UI: &runbooker.UIHint{Type: "Graph", Entity: "Group"}},
			{Name: "c", Type: "object", UI: &runbooker.UIHint{Type: "graph", Entity: "device", Filter: "operatingSystem eq 'Windows'"}},
			{Name: "d", Type: "object", UI: &runbooker.UIHint{Type: "Graph", Entity: "user", Filter: "userType eq 'Guest'"}},
			{Name: "e", Type: "datetime", UI: &runbooker.UIHint{Date: ptrB(true)}},
			{Name: "f", Type: "object", UI: &runbooker.UIHint{Type: "DateTime", Date: ptrB(true), Time: ptrB(false)}},
			{Name: "g", Type: "int", UI: &runbooker.UIHint{Type: "Number", MinValue: ptrF(1), MaxValue: ptrF(10)}},
			{Name: "h", Type: "object", UI: &runbooker.UIHint{Type: "Number", MinValue: ptrF(-5), MaxValue: ptrF(2.5)}},
			{Name: "i", Type: "object", UI: &runbooker.UIHint{Type: "Textarea", Description: "Shown below", DisplayName: "Note"}},
			{Name: "j", Type: "object", UI: &runbooker.UIHint{Type: "Setting", Attribute: "Offboard.groupToAdd", Value: "G1"}},
			{Name: "k", Type: "object", UI: &runbooker.UIHint{Value: int64(5)}},
			{Name: "l", Type: "object", UI: &runbooker.UIHint{Type: "Graph", Entity: "User"}},
			{Name: "m", Type: "object"},
			{Name: "n", Type: "object", UI: &runbooker.UIHint{Type: "Graph", DisplayName: "Pasted ‘from’ Word", Entity: "Group"}},
		}},
		{"literal defaults", `param(
  [string] $s = "text", $s2 = 'it''s', $s3 = "", $s4 = 'no $expansion',
  $s5 = "escaped ‵$dollar", $s6 = @'
here
'@,
  [int] $i = 42, $i2 = -7, $i3 = 0x10, $i4 = 2kb, $f = 1.5, $f2 = -0.25,
  [bool] $t = $true, $t2 = $FALSE, $n = $null,
  [string[]] $a = @("a", "b"), $a2 = "x", "y", $a3 = @(), $a4 = @(
    "one"   # first
    'two'
  ), $p = ("paren")
)`, []P{
			{Name: "s", Type: "string", Default: "text"}, {Name: "s2", Type: "object", Default: "it's"},
			{Name: "s3", Type: "object", Default: ""}, {Name: "s4", Type: "object", Default: "no $expansion"},
			{Name: "s5", Type: "object", Default: "escaped $dollar"}, {Name: "s6", Type: "object", Default: "here"},
			{Name: "i", Type: "int", Default: int64(42)}, {Name: "i2", Type: "object", Default: int64(-7)},
			{Name: "i3", Type: "object", Default: int64(16)}, {Name: "i4", Type: "object", Default: int64(2048)},
			{Name: "f", Type: "object", Default: 1.5}, {Name: "f2", Type: "object", Default: -0.25},
			{Name: "t", Type: "bool", Default: true}, {Name: "t2", Type: "object", Default: false}, {Name: "n", Type: "object"},
			{Name: "a", Type: "string[]", Default: []string{"a", "b"}}, {Name: "a2", Type: "object", Default: []string{"x", "y"}},
			{Name: "a3", Type: "object", Default: []string{}}, {Name: "a4", Type: "object", Default: []string{"one", "two"}},
			{Name: "p", Type: "object", Default: "paren"},
		}},
		{"expression defaults", `param(
  [datetime] $Start = (get-date),
  [System.DateTime] $End = ((get-date) + (new-timespan -Days 3650)),
  $Temp = $env:TEMP,
  $Greeting = "Hello $env:USERNAME",
  $Sub = "x $(1 + 1)",
  $Hash = @{ a = 1; b = "two" },
  $Cast = [int]"5",
  $Mixed = @("a", 1),
  $Call = Get-Date -Format 'yyyy'
)`, []P{
			{Name: "Start", Type: "datetime", DefaultExpr: "(get-date)"},
			{Name: "End", Type: "datetime", DefaultExpr: "((get-date) + (new-timespan -Days 3650))"},
			{Name: "Temp", Type: "object", DefaultExpr: "$env:TEMP"},
			{Name: "Greeting", Type: "object", DefaultExpr: `"Hello $env:USERNAME"`},
			{Name: "Sub", Type: "object", DefaultExpr: `"x $(1 + 1)"`},
			{Name: "Hash", Type: "object", DefaultExpr: `@{ a = 1; b = "two" }`},
			{Name: "Cast", Type: "object", DefaultExpr: `[int]"5"`},
			{Name: "Mixed", Type: "object", DefaultExpr: `@("a", 1)`},
			{Name: "Call", Type: "object", DefaultExpr: `Get-Date -Format 'yyyy'`},
		}},
		{"help from comments", `param(
  # The user
  # to work on.
  [Parameter(Mandatory)]
  [string] $User,

  [Parameter(Mandatory)]
  # between attribute and type
  [string] $Between,
  <# A block
     comment #>
  [int] $Block,
  # separated by a blank line: not help

  [string] $Separated,
  [Parameter(HelpMessage = "from HelpMessage")] $Msg,
  [string] $Trailing, # same-line comment
  [string] $Last # last one
)`, []P{
			{Name: "User", Type: "string", Mandatory: true, Description: "The user\nto work on."},
			{Name: "Between", Type: "string", Mandatory: true, Description: "between attribute and type"},
			{Name: "Block", Type: "int", Description: "A block\ncomment"},
			{Name: "Separated", Type: "string"},
			{Name: "Msg", Type: "object", Description: "from HelpMessage"},
			{Name: "Trailing", Type: "string", Description: "same-line comment"},
			{Name: "Last", Type: "string", Description: "last one"},
		}},
		{"help from .PARAMETER wins, any case", `<#
.SYNOPSIS
x
.PARAMETER username
From the help block.
.parameter COUNT
How many.
#>
param(
  # from the comment
  [string] $UserName,
  [int] $Count,
  # only a comment
  $Other
)`, []P{
			{Name: "UserName", Type: "string", Description: "From the help block."},
			{Name: "Count", Type: "int", Description: "How many."},
			{Name: "Other", Type: "object", Description: "only a comment"},
		}},
		{"one line and odd layout", "[CmdletBinding()]\nPARAM\n  ([Parameter(Mandatory)][string]$A,[int]$B=1,[switch]$C)   \n", []P{
			{Name: "A", Type: "string", Mandatory: true}, {Name: "B", Type: "int", Default: int64(1)}, {Name: "C", Type: "switch"},
		}},
		{"attributes split over lines", `param(
  [Parameter(
      Mandatory = $true,
      HelpMessage = 'Who'
  )]
  [ValidateSet(
      "a",
      "b"
  )]
  [string]
  $Who
)`, []P{{Name: "Who", Type: "string", Mandatory: true, Description: "Who", ValidateSet: []string{"a", "b"}}}},
		{"crlf, trailing blanks and comments between", "param( \r\n  # one \r\n  [string] $a = 'x',   \r\n\r\n  # two\r\n  [bool]  $b = $false \r\n) \r\n", []P{
			{Name: "a", Type: "string", Default: "x", Description: "one"}, {Name: "b", Type: "bool", Default: false, Description: "two"},
		}},
		{"function params are not script params", "function f { param($inner) }\n", nil},
		{"param after code is not the script's", "$x = 1\nparam($late)\n", nil},
		{"using statements and attributes first", "using namespace System.Text\n[Diagnostics.CodeAnalysis.SuppressMessageAttribute('PSAvoidUsingPlainTextForPassword', '')]\n[OutputType([string])]\nparam([string]$Password)\n", []P{
			{Name: "Password", Type: "string"},
		}},
		{"empty param block", "param()\n'x'", nil},
		{"param block holding only a comment", "param(\n  # nothing yet\n)", nil},
		{"braced variable name", "param([string]${user name} = 'a')", []P{{Name: "user name", Type: "string", Default: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := Extract([]byte(backticks(tt.src)))
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			want := tt.want
			if want == nil {
				want = []P{}
			}
			if !reflect.DeepEqual(md.Parameters, want) {
				t.Errorf("parameters differ\n got %s\nwant %s", js(md.Parameters), js(want))
			}
		})
	}
}

// backticks lets PowerShell's backtick appear in Go raw strings as '‵'.
func backticks(s string) string { return strings.ReplaceAll(s, "‵", "`") }

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestCmdletBinding(t *testing.T) {
	for src, want := range map[string]bool{
		"param($a)":                    false,
		"[CmdletBinding()]\nparam($a)": true,
		"[cmdletbinding()] param($a)":  true,
		"[CmdletBinding(SupportsShouldProcess = $true)]\n#c\nparam()": true,
		"[CmdletBinding()]\n$x = 1":                                   false,
	} {
		md, err := Extract([]byte(src))
		if err != nil {
			t.Fatalf("Extract(%q): %v", src, err)
		}
		if md.CmdletBinding != want {
			t.Errorf("Extract(%q).CmdletBinding = %v, want %v", src, md.CmdletBinding, want)
		}
	}
}

func TestExtractErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"duplicate parameter", "param(\n  $a,\n  [int] $A\n)", 3, 9, "duplicate parameter"},
		{"attributes without variable", "param(\n  [string]\n)", 3, 1, "missing the parameter variable"},
		{"not a declaration", "param(string $x)", 1, 7, "expected a parameter variable"},
		{"missing default", "param($x = )", 1, 10, "missing the default value"},
		{"garbage after variable", "param($x $y)", 1, 10, "unexpected '$y'"},
		{"unterminated string in default", "param(\n  $x = 'abc\n)", 2, 8, "unterminated string"},
		{"unterminated here-string", "param($x = @\"\nabc\n)", 1, 12, "unterminated here-string"},
		{"param without close", "<# .SYNOPSIS\nx #>\nparam(\n  [string] $x", 3, 6, "missing closing ')'"},
		{"unbalanced parens in attribute", "param(\n  [ValidateSet('a'] $x)", 2, 19, "missing closing ')'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := Extract([]byte(tt.src))
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Extract(%q) = %v, %v; want a *runbooker.ParseError", tt.src, md, err)
			}
			if md != nil {
				t.Errorf("Extract returned metadata along with the error")
			}
			if pe.Source != "script" || pe.Line != tt.line || pe.Column != tt.col || !strings.Contains(pe.Message, tt.msg) {
				t.Errorf("got %s:%d:%d %q, want script:%d:%d containing %q", pe.Source, pe.Line, pe.Column, pe.Message, tt.line, tt.col, tt.msg)
			}
		})
	}
}
