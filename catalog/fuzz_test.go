package catalog

import (
	"encoding/json"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

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
