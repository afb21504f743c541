package psparse

import (
	"reflect"
	"strings"
	"testing"
)

func TestExtractHelp(t *testing.T) {
	type help struct {
		Synopsis, Description, Notes string
		Examples                     []string
		Inputs                       string
	}
	tests := []struct {
		name, src string
		want      help
	}{
		{"block before requires", "<#\n  .SYNOPSIS\n  Short.\n\n  .DESCRIPTION\n  Long\n    indented\n  text.\n#>\n#Requires -Modules X\nparam()",
			help{Synopsis: "Short.", Description: "Long\n  indented\ntext."}},
		{"block after requires", "#Requires -Modules X\n\n<#\n.SYNOPSIS\nAfter.\n#>\nparam()", help{Synopsis: "After."}},
		{"keywords in any case", "<#\n.synopsis\ns\n.Description\nd\n.NOTES\nn\n.inputs\ni\n#>", help{Synopsis: "s", Description: "d", Notes: "n", Inputs: "i"}},
		{"keyword on the opening line", "<# .SYNOPSIS\n   Inline start. #>", help{Synopsis: "Inline start."}},
		{"several examples", "<#\n.EXAMPLE\none\n.EXAMPLE\n  two\n  lines\n.EXAMPLE\n#>", help{Examples: []string{"one", "two\nlines"}}},
		{"line comment help", "# .SYNOPSIS\n#   Via hashes.\n# .DESCRIPTION\n#   More.\nparam()", help{Synopsis: "Via hashes.", Description: "More."}},
		{"line comments after requires lines", "#Requires -Version 5.1\n#Requires -Modules A\n# .SYNOPSIS\n# Joined group.\n", help{Synopsis: "Joined group."}},
		{"tabs", "<#\n\t.SYNOPSIS\n\tTabbed\n\n\t.NOTES\n\t- a\n\t\t- b\n#>", help{Synopsis: "Tabbed", Notes: "- a\n\t- b"}},
		{"crlf", "<#\r\n  .SYNOPSIS\r\n  Windows  \r\n  lines\r\n#>\r\nparam()\r\n", help{Synopsis: "Windows\nlines"}},
		{"copyright comment first", "# Copyright (c) Contoso\n\n<#\n.SYNOPSIS\nSecond block.\n#>", help{Synopsis: "Second block."}},
		{"no keywords is no help", "# Just a comment\n# about things\nparam()", help{}},
		{"help after code is not the script's", "$x = 1\n<#\n.SYNOPSIS\nlate\n#>\n$y = 2", help{}},
		{"help at the end of the script", "param()\n'work'\n\n<#\n.SYNOPSIS\nAt the end.\n#>\n", help{Synopsis: "At the end."}},
		{"function help is not script help", "function f {\n<#\n.SYNOPSIS\nfn\n#>\n}\n", help{}},
		{"unknown dot lines are text", "<#\n.DESCRIPTION\nUses the\n.NET runtime.\n#>", help{Description: "Uses the\n.NET runtime."}},
		{"repeated sections join", "<#\n.DESCRIPTION\nA\n.DESCRIPTION\nB\n#>", help{Description: "A\n\nB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := Extract([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			got := help{md.Synopsis, md.Description, md.Notes, md.Examples, md.Inputs}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestExtractCustomization(t *testing.T) {
	tests := []struct {
		name, src string
		want      string
		line      int
	}{
		{"realmjoin style", "<#\n  .SYNOPSIS\n  x\n\n  .INPUTS\n  RunbookCustomization: {\n        \"Parameters\": {\n            \"CallerName\": { \"Hide\": true },\n        }\n    }\n#>\nparam()",
			"{\n        \"Parameters\": {\n            \"CallerName\": { \"Hide\": true },\n        }\n    }", 6},
		{"comments and braces in strings", "<#\n.INPUTS\nRunbookCustomization: { // a } comment\n  \"a\": \"}\", /* } */ \"b\": [1, 2,],\n}\nmore text\n#>",
			"{ // a } comment\n  \"a\": \"}\", /* } */ \"b\": [1, 2,],\n}", 3},
		{"json on the next line", "<#\n.INPUTS\nRunbookCustomization:\n{\"x\": 1}\n#>", "{\"x\": 1}", 4},
		{"key in any case", "<#\n.INPUTS\nrunbookcustomization: {}\n#>", "{}", 3},
		{"crlf kept verbatim", "<#\r\n.INPUTS\r\nRunbookCustomization: {\r\n  \"a\": 1\r\n}\r\n#>\r\n", "{\r\n  \"a\": 1\r\n}", 3},
		{"first of two inputs wins", "<#\n.INPUTS\nRunbookCustomization: {\"first\": 1}\n.INPUTS\nRunbookCustomization: {\"second\": 2}\n#>", "{\"first\": 1}", 3},
		{"unbalanced json gives the rest of the section", "<#\n.INPUTS\nRunbookCustomization: {\n  \"a\": {\n.NOTES\nn\n#>", "{\n  \"a\": {", 3},
		{"line comment help", "# .SYNOPSIS\n# s\n# .INPUTS\n# RunbookCustomization: {\n#   \"a\": 1,\n# }\n", "{\n   \"a\": 1,\n }", 4},
		{"not in inputs", "<#\n.NOTES\nRunbookCustomization: {}\n#>", "", 0},
		{"no json after the key", "<#\n.INPUTS\nRunbookCustomization: see the docs\n#>", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := Extract([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if md.Customization != tt.want || md.CustomizationLine != tt.line {
				t.Errorf("got %q at line %d, want %q at line %d", md.Customization, md.CustomizationLine, tt.want, tt.line)
			}
		})
	}
}

func TestInputsText(t *testing.T) {
	md, err := Extract([]byte("<#\n.INPUTS\n  RunbookCustomization: {\n      \"a\": 1\n  }\n.INPUTS\n  second\n#>"))
	if err != nil {
		t.Fatal(err)
	}
	want := "RunbookCustomization: {\n    \"a\": 1\n}\n\nsecond"
	if md.Inputs != want {
		t.Errorf("Inputs = %q, want %q", md.Inputs, want)
	}
	if !strings.HasPrefix(md.Customization, "{") {
		t.Errorf("Customization = %q", md.Customization)
	}
}
