package portal

import (
	"strings"
	"testing"
)

func TestPortalAdminDocError(t *testing.T) {
	doc := "{\n\t\"a\": [1,,],\n  \"b\": 2\n}"
	for _, tc := range []struct {
		msg          string
		line, column int
		text, marker string
	}{
		{"customization: line 2, column 9: unexpected ','", 2, 9, "\t\"a\": [1,,],", "\t       ^"},
		{"permissions: line 3: Roles must be an object", 3, 0, "  \"b\": 2", ""},
		{"line 9, column 1: past the end", 0, 1, "", ""},
		{"directory: unknown provider", 0, 0, "", ""},
	} {
		e := newDocError(tc.msg, doc)
		if e.Message != tc.msg || e.Line != tc.line || e.Text != tc.text || e.Marker != tc.marker {
			t.Errorf("%q: line %d text %q marker %q", tc.msg, e.Line, e.Text, e.Marker)
		}
		if tc.line > 0 && e.Column != tc.column {
			t.Errorf("%q: column %d, want %d", tc.msg, e.Column, tc.column)
		}
	}
}

func TestPortalAdminInstallQuoting(t *testing.T) {
	lin := linuxInstall("https://rb.example", "it's", "rbg_x'y")
	for _, want := range []string{`--group 'it'\''s'`, `printf '%s\n' 'rbg_x'\''y'`, "--server 'https://rb.example'"} {
		if !strings.Contains(lin, want) {
			t.Errorf("linux install lacks %q:\n%s", want, lin)
		}
	}
	if win := windowsInstall("https://rb.example", "g", "rbg_x'y"); !strings.Contains(win, `-Value 'rbg_x''y'`) {
		t.Errorf("windows install:\n%s", win)
	}
}
