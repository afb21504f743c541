package pyparse

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

// pySample is a runbook using most of what the reader understands; the
// catalog's tests analyse the same file.
var pySample = readSample("testdata/rotate_keys.py")

func readSample(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParsePython(t *testing.T) {
	meta, err := Parse([]byte(pySample))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Synopsis != "Rotate a user's API keys." {
		t.Errorf("Synopsis = %q", meta.Synopsis)
	}
	if meta.Description != "Creates new keys, stores them in the vault\nand revokes the old ones." {
		t.Errorf("Description = %q", meta.Description)
	}
	if meta.Notes != `Needs the "vault" credential.` {
		t.Errorf("Notes = %q", meta.Notes)
	}
	if want := []string{`main("alice")`, `main("bob", KeyCount=2)`}; !reflect.DeepEqual(meta.Examples, want) {
		t.Errorf("Examples = %q, want %q", meta.Examples, want)
	}
	if meta.Customization == nil || !strings.HasPrefix(string(meta.Customization.Text), `{`) || !strings.HasSuffix(string(meta.Customization.Text), `}`) {
		t.Fatalf("Customization = %+v", meta.Customization)
	}
	if meta.Customization.Line != 22 || meta.Customization.Cols[0] != 22 {
		t.Errorf("Customization at line %d col offset %d, want 22, 22", meta.Customization.Line, meta.Customization.Cols[0])
	}
	type p = runbooker.Parameter
	want := []p{
		{Name: "UserName", Type: "string", Mandatory: true, Description: "The user whose keys rotate."},
		{Name: "KeyCount", Type: "int", Default: int64(1), Description: "How many keys to create."},
		{Name: "Ratio", Type: "float", Default: -0.5},
		{Name: "DryRun", Type: "bool", Default: false, Description: "Only print."},
		{Name: "Tags", Type: "string[]", Default: []string{"a", "b"}},
		{Name: "Names", Type: "string[]", Default: []string{}},
		{Name: "Since", Type: "datetime"},
		{Name: "Until", Type: "datetime", DefaultExpr: "datetime.datetime.now()"},
		{Name: "Mode", Type: "string", Default: "fast", ValidateSet: []string{"fast", "slow"}},
		{Name: "Extra", Type: "object", DefaultExpr: `{"k": 1}`},
		{Name: "Blob", Type: "object"},
		{Name: "Note", Type: "string", Default: "multipart"},
		{Name: "Hex", Type: "int", Default: int64(31)},
		{Name: "Big", Type: "int", Default: int64(1000)},
	}
	if len(meta.Parameters) != len(want) {
		t.Fatalf("got %d parameters %+v, want %d", len(meta.Parameters), meta.Parameters, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(meta.Parameters[i], want[i]) {
			t.Errorf("parameter %d = %+v, want %+v", i, meta.Parameters[i], want[i])
		}
	}
}

func TestParsePythonVariants(t *testing.T) {
	tests := []struct {
		name, src      string
		synopsis, desc string
		params         []string // name:type:mandatory
	}{
		{"no docstring no main", "import sys\nprint(sys.argv)\n", "", "", nil},
		{"single-line docstring", "'Say hello.'\ndef main(Name): pass\n", "Say hello.", "", []string{"Name:object:true"}},
		{"raw docstring", "r'''Path C:\\new\\table.'''\n", `Path C:\new\table.`, "", nil},
		{"escaped docstring", "\"\"\"Say \\\"hi\\\".\\n\\nSecond\\x20line.\"\"\"\n", `Say "hi".`, "Second line.", nil},
		{"bytes is no docstring", "b'x'\n", "", "", nil},
		{"f-string is no docstring", "f'x'\n", "", "", nil},
		{"expression is no docstring", "'x'.upper()\n", "", "", nil},
		{"docstring after comments", "# c\n\n# d\n'''Doc.'''\n", "Doc.", "", nil},
		{"not first statement", "import os\n'''Doc.'''\n", "", "", nil},
		{"numpy style", "\"\"\"Sum.\n\nParameters\n----------\nA : int\n    First.\nB : int\n    Second\n    value.\n\nReturns\n-------\nint\n\"\"\"\ndef main(A: int, B: int = 2): pass\n", "Sum.", "Returns\n-------\nint", []string{"A:int:true", "B:int:false"}},
		{"main in if block is not top level", "if True:\n    def main(X): pass\n", "", "", nil},
		{"later main wins", "def main(A): pass\ndef main(B=1): pass\n", "", "", []string{"B:object:false"}},
		{"line continuation", "def \\\nmain(A: str): pass\n", "", "", []string{"A:string:true"}},
		{"positional args ignored", "def main(*args, A: bool, **kw): pass\n", "", "", []string{"A:bool:true"}},
		{"crlf", "\"\"\"Doc.\r\n\r\nMore.\r\n\"\"\"\r\ndef main(A: str = 'x'):\r\n    pass\r\n", "Doc.", "More.", []string{"A:string:false"}},
		{"union types", "def main(A: 'Union[int, None]' = None, B: typing.Optional[typing.List[str]] = None): pass\n", "", "", []string{"A:int:false", "B:string[]:false"}},
		{"literal ints", "def main(N: Literal[1, 2] = 1): pass\n", "", "", []string{"N:int:false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta, err := Parse([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if meta.Synopsis != tt.synopsis || meta.Description != tt.desc {
				t.Errorf("synopsis, description = %q, %q; want %q, %q", meta.Synopsis, meta.Description, tt.synopsis, tt.desc)
			}
			var got []string
			for _, p := range meta.Parameters {
				got = append(got, p.Name+":"+string(p.Type)+":"+map[bool]string{true: "true", false: "false"}[p.Mandatory])
			}
			if !reflect.DeepEqual(got, tt.params) {
				t.Errorf("params = %v, want %v", got, tt.params)
			}
		})
	}
}

func TestParsePythonNumpyArgDocs(t *testing.T) {
	meta, err := Parse([]byte("\"\"\"Sum.\n\nParameters\n----------\nA : int\n    First.\nB : int\n    Second\n    value.\n\"\"\"\ndef main(A: int, B: int = 2): pass\n"))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Parameters[0].Description != "First." || meta.Parameters[1].Description != "Second value." {
		t.Errorf("descriptions = %q, %q", meta.Parameters[0].Description, meta.Parameters[1].Description)
	}
}

func TestParsePythonErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"unterminated docstring", "x = 1\n\"\"\"Never\nends\n", 2, 1, "unterminated string"},
		{"unterminated single quote", "s = 'abc\n", 1, 5, "unterminated string"},
		{"unclosed signature", "def main(a,\n  b\n", 3, 1, "unterminated parameter list"},
		{"unmatched bracket", "x = (1))\n", 1, 8, "unmatched"},
		{"unterminated f-string field", "s = f'{x'\n", 1, 9, "unterminated string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want ParseError", err)
			}
			if pe.Line != tt.line || pe.Column != tt.col || !strings.Contains(pe.Message, tt.msg) || pe.Source != "script" {
				t.Errorf("err = %+v, want line %d col %d %q", pe, tt.line, tt.col, tt.msg)
			}
		})
	}
}
