package catalog

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

func ptr[T any](v T) *T { return &v }

// fieldByKey finds a field of the form or fails the test.
func fieldByKey(t *testing.T, f Form, key string) Field {
	t.Helper()
	for _, fl := range f.Fields {
		if fl.Key == key {
			return fl
		}
	}
	t.Fatalf("form has no field %q: %v", key, keys(f))
	return Field{}
}

func keys(f Form) []string {
	var ks []string
	for _, fl := range f.Fields {
		ks = append(ks, fl.Key)
	}
	return ks
}

func TestBuildFormControls(t *testing.T) {
	meta := runbooker.RunbookMeta{
		ContextParameter: "UserName",
		Parameters: []runbooker.Parameter{
			{Name: "UserName", Type: "string", Mandatory: true},
			{Name: "MessageInternal", Type: "string", UI: &runbooker.UIHint{Type: "Textarea"}},
			{Name: "Revoke", Type: "bool", Default: true},
			{Name: "Force", Type: "switch"},
			{Name: "Count", Type: "int", Default: int64(3), ValidateRange: &runbooker.Range{Min: 1, Max: 10}},
			{Name: "Ratio", Type: "float"},
			{Name: "Start", Type: "datetime", DefaultExpr: "(get-date)"},
			{Name: "ValidUntil", Type: "datetime", UI: &runbooker.UIHint{Date: ptr(true), MaxValue: ptr(5.0)}},
			{Name: "Tags", Type: "string[]"},
			{Name: "Blob", Type: "object"},
			{Name: "Level", Type: "int", ValidateSet: []string{"1", "2"}},
			{Name: "Mode", Type: "string", ValidateSet: []string{"Fast", "Slow"}, Default: "Fast"},
			{Name: "ManagerId", Type: "string", UI: &runbooker.UIHint{Type: "Graph", Entity: "User", Filter: "userType eq 'Member'", DisplayName: "Manager"}},
			{Name: "GroupName", Type: "string", UI: &runbooker.UIHint{Type: "Graph", Entity: "Group"}},
			{Name: "callername", Type: "string", Mandatory: true},
		},
	}
	form, warnings := BuildForm(meta, "rjgit-user_general_test", nil)
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if want := []string{"UserName", "MessageInternal", "Revoke", "Force", "Count", "Ratio", "Start", "ValidUntil", "Tags", "Blob", "Level", "Mode", "ManagerId", "GroupName", "callername"}; !reflect.DeepEqual(keys(form), want) {
		t.Errorf("order = %v", keys(form))
	}
	tests := []struct {
		key, control, label string
	}{
		{"UserName", ControlHidden, "User Name"},
		{"MessageInternal", ControlTextarea, "Message Internal"},
		{"Revoke", ControlToggle, "Revoke"},
		{"Force", ControlToggle, "Force"},
		{"Count", ControlNumber, "Count"},
		{"Ratio", ControlNumber, "Ratio"},
		{"Start", ControlDateTime, "Start"},
		{"ValidUntil", ControlDateTime, "Valid Until"},
		{"Tags", ControlTextarea, "Tags"},
		{"Blob", ControlTextarea, "Blob"},
		{"Level", ControlSelect, "Level"},
		{"Mode", ControlSelect, "Mode"},
		{"ManagerId", ControlEntity, "Manager"},
		{"GroupName", ControlEntity, "Group Name"},
		{"callername", ControlHidden, "Callername"},
	}
	for _, tt := range tests {
		f := fieldByKey(t, form, tt.key)
		if f.Control != tt.control || f.Label != tt.label {
			t.Errorf("%s: control %q label %q, want %q %q", tt.key, f.Control, f.Label, tt.control, tt.label)
		}
	}
	if f := fieldByKey(t, form, "UserName"); !f.Context || !f.Hidden || f.Entity != "user" || !f.Mandatory {
		t.Errorf("context field = %+v", f)
	}
	if f := fieldByKey(t, form, "callername"); !f.Caller || !f.Hidden {
		t.Errorf("caller field = %+v", f)
	}
	if f := fieldByKey(t, form, "Count"); *f.Min != 1 || *f.Max != 10 || f.Default != int64(3) {
		t.Errorf("Count = %+v", f)
	}
	if f := fieldByKey(t, form, "Start"); !*f.Date || !*f.Time || f.DefaultExpr != "(get-date)" {
		t.Errorf("Start = %+v", f)
	}
	if f := fieldByKey(t, form, "ValidUntil"); !*f.Date || *f.Time || *f.Max != 5 {
		t.Errorf("ValidUntil = %+v", f)
	}
	if f := fieldByKey(t, form, "Level"); !reflect.DeepEqual(f.Options, []Option{{Display: "1", Value: int64(1)}, {Display: "2", Value: int64(2)}}) {
		t.Errorf("Level options = %+v", f.Options)
	}
	if f := fieldByKey(t, form, "ManagerId"); f.Entity != "user" || f.Returns != "id" || f.Filter != "userType eq 'Member'" {
		t.Errorf("ManagerId = %+v", f)
	}
	if f := fieldByKey(t, form, "GroupName"); f.Entity != "group" || f.Returns != ReturnsDisplayName {
		t.Errorf("GroupName = %+v", f)
	}
	data, err := json.Marshal(form)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"runbook":"rjgit-user_general_test"`, `"key":"UserName"`, `"context":true`, `"control":"entity"`, `"returns":"id"`, `"default":null`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s: %s", want, data)
		}
	}
}

func TestHumanize(t *testing.T) {
	for in, want := range map[string]string{
		"MessageInternal": "Message Internal", "delegateTo": "Delegate To", "user_name": "User Name",
		"UPNSuffix": "UPN Suffix", "exportStorAccountSKU": "Export Stor Account SKU", "Field2Name": "Field2 Name", "x": "X",
	} {
		if got := humanize(in); got != want {
			t.Errorf("humanize(%q) = %q, want %q", in, got, want)
		}
	}
}
