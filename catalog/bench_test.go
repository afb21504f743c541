package catalog

import (
	"fmt"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

// BenchmarkAnalyzePython measures one typical Python runbook; a sync of
// 1,000 runbooks costs 1,000 of these.
func BenchmarkAnalyzePython(b *testing.B) {
	in := AnalyzeInput{Name: "rjgit-user_general_rotate-keys", FileName: "rotate-keys.py", Content: []byte(pySample)}
	b.SetBytes(int64(len(in.Content)))
	for b.Loop() {
		if _, _, err := Analyze(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzePowerShell is the same for a PowerShell runbook.
func BenchmarkAnalyzePowerShell(b *testing.B) {
	in := AnalyzeInput{Name: "rjgit-user_mail_set-out-of-office", FileName: "x.ps1", Content: []byte(psSample)}
	b.SetBytes(int64(len(in.Content)))
	for b.Loop() {
		if _, _, err := Analyze(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildForm builds the form of a runbook with header and tenant
// customization (templates, settings, filters), as a GET of a runbook does.
func BenchmarkBuildForm(b *testing.B) {
	meta := outOfOffice()
	for i := range 20 {
		meta.Parameters = append(meta.Parameters, runbooker.Parameter{Name: fmt.Sprintf("Extra%d", i), Type: "string",
			UI: &runbooker.UIHint{Type: "Setting", Attribute: fmt.Sprintf("S.k%d", i)}})
	}
	tenant := []byte(`{"Settings": {"S": {"k1": "v", "k5": "w"}},
	  "GraphFilters": {"Members": "userType eq 'Member'"},
	  "Templates": {"Options": [{"$id": "T", "$values": [{"Display": "a", "Customization": {"Default": {"Extra1": "x"}}}, {"Display": "b"}]}]},
	  "Runbooks": {"rjgit-user_mail_set-out-of-office": {"ParameterList": [
	    {"DisplayName": "Preset", "DisplayBefore": "Start", "Select": {"Options": {"$ref": "T"}}},
	    {"Name": "End", "DisplayAfter": "Extra3"}, {"Name": "Extra2", "Hide": true}]}}}`)
	for b.Loop() {
		if _, w := BuildForm(meta, "rjgit-user_mail_set-out-of-office", tenant); len(w) != 0 {
			b.Fatal(w)
		}
	}
}
