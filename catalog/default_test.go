package catalog

import (
	"reflect"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

// A default that the field cannot hold — a setting or customization value
// of the wrong type, a select value outside the options — is a warning at
// its position, and the field keeps the default of a lower source if that
// one fits, else none.
func TestDefaultsAreChecked(t *testing.T) {
	setting := func(attr string) *runbooker.UIHint { return &runbooker.UIHint{Type: "Setting", Attribute: attr} }
	meta := runbooker.RunbookMeta{Parameters: []runbooker.Parameter{
		{Name: "DeleteUser", Type: "bool", Default: true, UI: setting("S.deleteUser")},
		{Name: "Days", Type: "int", UI: setting("S.days")},
		{Name: "Prefix", Type: "string", Default: "LIC_", UI: setting("S.prefix")},
		{Name: "When", Type: "datetime", UI: setting("S.when")},
		{Name: "Mode", Type: "string", Default: "Fast", ValidateSet: []string{"Fast", "Slow"}},
		{Name: "Level", Type: "int", Default: int64(1)},
		{Name: "Size", Type: "string", Default: "S"},
		{Name: "Edit", Type: "string"},
		{Name: "Count", Type: "int"},
		{Name: "Ratio", Type: "float"},
	}}
	tenant := `{"Settings": {"S": {"deleteUser": "notabool", "days": {"n": 30}, "prefix": ["a"], "when": "soon"}},
 "Runbooks": {"org_general_x": {"Parameters": {
  "Mode": {"Default": "turbo"},
  "Level": {"SelectSimple": {"Low": 2, "High": 9}, "Default": "Medium"},
  "Size": {"Select": {"Options": [{"Display": "Large", "Value": "L"}]}},
  "Edit": {"Select": {"Options": [{"Display": "a"}], "AllowEdit": true}, "Default": "free text"},
  "Count": {"Default": "12"},
  "Ratio": {"DefaultValue": true}
 }}}}`
	form, warnings := BuildForm(meta, "org_general_x", []byte(tenant))
	want := map[string]any{
		"DeleteUser": true,   // declared default kept
		"Days":       nil,    // nothing below the setting
		"Prefix":     "LIC_", // declared default kept
		"When":       nil,
		"Mode":       "Fast", // declared default kept
		"Level":      nil,    // the declared 1 is no option either
		"Size":       nil,    // the declared "S" is no option of the tenant's select
		"Edit":       "free text",
		"Count":      int64(12), // a numeric string converts
		"Ratio":      nil,
	}
	for key, w := range want {
		if f := fieldByKey(t, form, key); !reflect.DeepEqual(f.Default, w) {
			t.Errorf("%s default = %#v, want %#v", key, f.Default, w)
		}
	}
	type pos struct {
		line, col int
		msg       string
	}
	wantWarnings := []pos{
		{1, 35, `the setting "S.deleteUser" gives "DeleteUser" the default "notabool", which is not true or false`},
		{1, 55, `the setting "S.days" gives "Days" the default {"n":30}, which is not an integer`},
		{1, 76, `the setting "S.prefix" gives "Prefix" the default ["a"], which is not a string`},
		{1, 91, `the setting "S.when" gives "When" the default "soon", which is not an ISO-8601 date/time`},
		{3, 23, `Default gives "Mode" the default "turbo", which is not one of its options`},
		{4, 63, `Default gives "Level" the default "Medium", which is not one of its options`},
		{4, 29, `the declaration gives "Level" the default 1, which is not one of its options`},
		{5, 22, `the declaration gives "Size" the default "S", which is not one of its options`},
		{8, 29, `DefaultValue gives "Ratio" the default true, which is not a number`},
	}
	if len(warnings) != len(wantWarnings) {
		t.Errorf("%d warnings, want %d: %v", len(warnings), len(wantWarnings), warnings)
	}
	for _, w := range wantWarnings {
		found := false
		for _, g := range warnings {
			if strings.HasPrefix(g.Message, w.msg) && g.Line == w.line && g.Column == w.col && g.Source == "tenant-customization" {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning %d:%d %s in\n%v", w.line, w.col, w.msg, warnings)
		}
	}
}

// Mode's default names an option case-insensitively, as PowerShell's
// ValidateSet matches; a display text names its option's value.
func TestSelectDefaultMatching(t *testing.T) {
	meta := runbooker.RunbookMeta{Parameters: []runbooker.Parameter{
		{Name: "Mode", Type: "string", ValidateSet: []string{"Fast", "Slow"}, Default: "fast"},
		{Name: "Revoke", Type: "bool", Default: false},
	},
		Customization: []byte(`{"Parameters": {"Revoke": {"SelectSimple": {"Enable": false, "Revoke": true}, "Default": "revoke"}}}`),
	}
	form, warnings := BuildForm(meta, "org_general_x", nil)
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if f := fieldByKey(t, form, "Mode"); f.Default != "Fast" {
		t.Errorf("Mode default = %#v", f.Default)
	}
	if f := fieldByKey(t, form, "Revoke"); f.Default != true {
		t.Errorf("Revoke default = %#v", f.Default)
	}
}

// The script's own select default outside its options is Analyze's to
// report, at the script position of the customization.
func TestAnalyzeSelectDefault(t *testing.T) {
	script := `<#
  .INPUTS
  RunbookCustomization: {"Parameters": {"Mode": {"SelectSimple": {"A": "a", "B": "b"}, "Default": "c"}}}
#>
param([string] $Mode = "a")
`
	meta, _, err := Analyze(AnalyzeInput{Name: "org_general_x", FileName: "x.ps1", Content: []byte(script)})
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Warnings) != 1 {
		t.Fatalf("warnings = %v", meta.Warnings)
	}
	if w := meta.Warnings[0]; w.Source != "customization" || w.Line != 3 || w.Column != 99 || !strings.Contains(w.Message, `the default "c", which is not one of its options`) {
		t.Errorf("warning = %+v", w)
	}
	form, warnings := BuildForm(meta, "org_general_x", nil)
	if f := fieldByKey(t, form, "Mode"); f.Default != "a" || len(warnings) != 0 {
		t.Errorf("Mode = %+v, warnings %v", f, warnings)
	}
}

// RealmJoin's own add-user example sets a location's address fields and
// makes them read-only while the location is chosen.
func TestOptionCustomizationReadOnly(t *testing.T) {
	meta := runbooker.RunbookMeta{Parameters: []runbooker.Parameter{
		{Name: "StreetAddress", Type: "string"}, {Name: "City", Type: "string"}, {Name: "Floor", Type: "int"}, {Name: "Remote", Type: "bool"},
	}}
	tenant := `{"Runbooks": {"org_general_add-user": {"ParameterList": [{"DisplayName": "Office", "Select": {"Options": [
  {"Display": "DE-OF", "Customization": {"Default": {"StreetAddress": "Kaiserstraße 39", "City": "Offenbach"}, "ReadOnly": ["streetaddress", "City"]}},
  {"Display": "Home", "Customization": {"Disable": ["City"], "Default": {"Floor": "ground", "Remote": "yes"}}},
  {"Display": "Lab", "Customization": {"Default": {"Floor": {"n": 1}}}}
]}}]}}}`
	form, warnings := BuildForm(meta, "org_general_add-user", []byte(tenant))
	office := fieldByKey(t, form, "ui:1")
	want := []Option{
		{Display: "DE-OF", Value: "DE-OF", Customization: &OptionEffect{ReadOnly: []string{"StreetAddress", "City"},
			Default: map[string]any{"StreetAddress": "Kaiserstraße 39", "City": "Offenbach"}}},
		{Display: "Home", Value: "Home", Customization: &OptionEffect{Default: map[string]any{"Remote": true}}},
		{Display: "Lab", Value: "Lab"},
	}
	if !reflect.DeepEqual(office.Options, want) {
		t.Errorf("options = %+v\nwant %+v", office.Options, want)
	}
	if s := fieldByKey(t, form, "StreetAddress"); s.ReadOnly || s.Control != ControlText {
		t.Errorf("StreetAddress is read-only only while DE-OF is chosen: %+v", s)
	}
	wantWarnings := []struct {
		line, col int
		msg       string
	}{
		{3, 52, `Customization.Disable in an option of "ui:1" is not supported`},
		{3, 83, `an option of "ui:1" sets "Floor" to "ground", which is not an integer`},
		{4, 61, `an option of "ui:1" sets "Floor" to {"n":1}, which is not an integer`},
	}
	if len(warnings) != len(wantWarnings) {
		t.Errorf("warnings = %v", warnings)
	}
	for i, w := range wantWarnings {
		if i < len(warnings) && (warnings[i].Line != w.line || warnings[i].Column != w.col || !strings.HasPrefix(warnings[i].Message, w.msg)) {
			t.Errorf("warning %d = %+v, want %d:%d %s", i, warnings[i], w.line, w.col, w.msg)
		}
	}
}
