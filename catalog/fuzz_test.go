package catalog

import (
	"encoding/json"
	"errors"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

// checkParseError fails unless err is nil or a positioned ParseError.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var pe *runbooker.ParseError
	if !errors.As(err, &pe) || pe.Line < 1 || pe.Column < 1 {
		t.Fatalf("error %v is not a positioned ParseError", err)
	}
}

// FuzzParsePython: the Python reader never panics and reports errors with
// positions.
func FuzzParsePython(f *testing.F) {
	for _, s := range []string{pySample, "'''x'''\ndef main(a: int = 1, *, b='x'): pass\n", "f'{a:{b}}' \"\"\"", "def main(\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		meta, err := parsePython(src)
		checkParseError(t, err)
		if meta != nil && meta.Customization != nil {
			_, _ = ParseLooseJSON(meta.Customization.text)
		}
	})
}

// FuzzParseBash: the Bash header reader never panics.
func FuzzParseBash(f *testing.F) {
	for _, s := range []string{bashSample, "# @param A int default=\"1\n", "# RunbookCustomization: {\n# \"a\": [\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		meta, err := parseBash(src)
		checkParseError(t, err)
		if meta.Customization != nil {
			if _, err := ParseLooseJSON(meta.Customization.text); err != nil {
				var pe *runbooker.ParseError
				errors.As(err, &pe)
				meta.Customization.translate(pe)
			}
		}
	})
}

// FuzzBuildForm: any tenant customization yields a form with every
// parameter and JSON that serialises.
func FuzzBuildForm(f *testing.F) {
	f.Add([]byte(`{"Templates": {"Options": [{"$id": "T", "$values": [{"Display": "a"}]}]}, "GraphFilters": {"G": "x"},
	  "Settings": {"S": {"a": 1}}, "Runbooks": {"rjgit-user_mail_set-out-of-office": {"Parameters": {"Start": {"GraphFilter": "ref:G", "DisplayAfter": "End"}},
	  "ParameterList": [{"Select": {"Options": {"$ref": "T"}}, "DisplayBefore": "UserName"}, {"Name": "End", "SelectSimple": {"a": 1}}], "Hide": ["End"]}}}`))
	f.Add([]byte(`{"Runbooks": {"rjgit-user_mail_set-out-of-office": {"ParameterList": [{"Name": "Disable", "Select": {"Options": [{"Value": [1]}]}}]}}}`))
	meta := outOfOffice()
	meta.Parameters = append(meta.Parameters, runbooker.Parameter{Name: "S", Type: "int", UI: &runbooker.UIHint{Type: "Setting", Attribute: "S.a"}})
	f.Fuzz(func(t *testing.T, tenant []byte) {
		form, _ := BuildForm(meta, "rjgit-user_mail_set-out-of-office", tenant)
		seen := map[string]bool{}
		for _, fl := range form.Fields {
			if seen[fl.Key] {
				t.Fatalf("duplicate field %q", fl.Key)
			}
			seen[fl.Key] = true
		}
		for _, p := range meta.Parameters {
			if !seen[p.Name] {
				t.Fatalf("parameter %q missing from the form", p.Name)
			}
		}
		if _, err := json.Marshal(form); err != nil {
			t.Fatalf("form does not serialise: %v", err)
		}
	})
}
