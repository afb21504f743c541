package bashparse

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// bashSample is a header using most of the convention; the catalog's
// tests analyse the same file.
var bashSample = readSample("testdata/rotate_password.sh")

func readSample(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParseBash(t *testing.T) {
	meta, err := Parse([]byte(bashSample))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Synopsis != "Rotate the local admin password of a Linux host." {
		t.Errorf("Synopsis = %q", meta.Synopsis)
	}
	if meta.Description != "Connects over SSH, sets a random password\nand stores it in the vault." {
		t.Errorf("Description = %q", meta.Description)
	}
	if meta.Notes != `Needs the "vault" credential.` || !reflect.DeepEqual(meta.Examples, []string{"--HostName web01 --Length 24"}) {
		t.Errorf("Notes = %q, Examples = %q", meta.Notes, meta.Examples)
	}
	type p = runbooker.Parameter
	want := []p{
		{Name: "HostName", Type: "string", Mandatory: true, Description: "Host to rotate on", UI: &runbooker.UIHint{Type: "Graph", Entity: "Device", DisplayName: "Host"}},
		{Name: "Length", Type: "int", Default: int64(24), ValidateRange: &runbooker.Range{Min: 12, Max: 64}, Description: "Password length in characters."},
		{Name: "Mode", Type: "string", Default: "random", ValidateSet: []string{"random", "passphrase"}, Description: "Generator"},
		{Name: "DryRun", Type: "bool", Default: false},
		{Name: "Since", Type: "datetime", Default: "2024-01-31"},
		{Name: "Tags", Type: "string[]", Default: []string{"a", "b"}},
		{Name: "Comment", Type: "string", Description: "Free text", UI: &runbooker.UIHint{Type: "Textarea"}},
	}
	if !reflect.DeepEqual(meta.Parameters, want) {
		t.Errorf("Parameters =\n%+v\nwant\n%+v", meta.Parameters, want)
	}
	h := meta.Customization
	if h == nil || h.Line != 18 || h.Cols[0] != 24 || h.Cols[1] != 1 {
		t.Fatalf("Customization = %+v", h)
	}
	if got := string(h.Text); !strings.HasPrefix(got, "{\n   \"Parameters\"") || !strings.HasSuffix(got, "}") {
		t.Errorf("Customization text = %q", got)
	}
	// A syntax error inside the block is reported at the script's position.
	_, err = loosejson.Decode(h.Text)
	if err != nil {
		t.Fatalf("customization should parse: %v", err)
	}
}

func TestParseBashCustomizationPosition(t *testing.T) {
	src := "#!/bin/bash\n# RunbookCustomization:\n#   {\"Parameters\":\n#     {\"A\" {}}}\necho\n"
	meta, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, jerr := loosejson.Decode(meta.Customization.Text)
	var pe *runbooker.ParseError
	if !errors.As(jerr, &pe) {
		t.Fatalf("want a JSON error, got %v", jerr)
	}
	meta.Customization.Translate(pe)
	if pe.Line != 4 || pe.Column != 12 {
		t.Errorf("translated error at %d:%d, want 4:12 (%v)", pe.Line, pe.Column, pe)
	}
}

func TestParseBashErrors(t *testing.T) {
	tests := []struct {
		name, line string
		col        int
		msg        string
	}{
		{"missing name", "# @param", 9, "needs a parameter name"},
		{"bad name", "# @param user-name string", 10, "needs a parameter name"},
		{"unknown type", "# @param A integer", 12, `unknown type "integer"`},
		{"unknown option", "# @param A int hidden", 16, `unknown option "hidden"`},
		{"bad int default", "# @param A int default=ten", 16, `"ten" is not an integer`},
		{"bad bool default", "# @param A bool default=maybe", 17, "not true or false"},
		{"bad date default", "# @param A datetime default=soon", 21, "ISO-8601"},
		{"bad range", "# @param A int range=10..1", 16, "range must be min..max"},
		{"bad entity", "# @param A entity=printer", 12, "entity must be user, group or device"},
		{"unterminated quote", `# @param A label="x`, 18, "unterminated quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "#!/bin/bash\n# @param Ok string\n" + tt.line + "\necho hi\n"
			meta, err := Parse([]byte(src))
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want ParseError", err)
			}
			if pe.Line != 3 || pe.Column != tt.col || !strings.Contains(pe.Message, tt.msg) {
				t.Errorf("err = %+v, want line 3 col %d containing %q", pe, tt.col, tt.msg)
			}
			if len(meta.Parameters) != 1 || meta.Parameters[0].Name != "Ok" {
				t.Errorf("good parameters are kept: %+v", meta.Parameters)
			}
		})
	}
	_, err := Parse([]byte("# @param A\n# @param a int\n"))
	if err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Errorf("duplicate: err = %v", err)
	}
}

// TestParseBashSecondCustomization: only the first RunbookCustomization
// block is read; another one is an error at its line, so a header of many
// markers costs no more than its length.
func TestParseBashSecondCustomization(t *testing.T) {
	src := "#!/bin/bash\n# RunbookCustomization: {\"Parameters\": {}}\n#\n# RunbookCustomization: {\"x\": 1}\n# @param A int\n"
	meta, err := Parse([]byte(src))
	var pe *runbooker.ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || !strings.Contains(pe.Message, "second RunbookCustomization") {
		t.Errorf("error %v, want one at line 4 about a second block", err)
	}
	if meta.Customization == nil || string(meta.Customization.Text) != `{"Parameters": {}}` || len(meta.Parameters) != 1 {
		t.Errorf("meta %+v", meta)
	}
}

// TestParseBashLongContinuation: many continuation lines join in order.
func TestParseBashLongContinuation(t *testing.T) {
	var b strings.Builder
	b.WriteString("# @param A string - first\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "#   w%d\n", i)
	}
	b.WriteString("# Synopsis: S\n")
	meta, err := Parse([]byte(b.String()))
	if err != nil || len(meta.Parameters) != 1 || meta.Synopsis != "S" {
		t.Fatalf("%+v %v", meta, err)
	}
	if d := meta.Parameters[0].Description; !strings.HasPrefix(d, "first w0 w1 ") || !strings.HasSuffix(d, " w998 w999") {
		t.Errorf("description %.40q…", d)
	}
}
