package catalog

import (
	"reflect"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

// outOfOffice mirrors RealmJoin's user/mail/set-out-of-office runbook.
func outOfOffice() runbooker.RunbookMeta {
	return runbooker.RunbookMeta{
		ContextParameter: "UserName",
		Parameters: []runbooker.Parameter{
			{Name: "UserName", Type: "string", Mandatory: true},
			{Name: "Disable", Type: "bool", Default: false},
			{Name: "Start", Type: "datetime", DefaultExpr: "(get-date)"},
			{Name: "End", Type: "datetime"},
			{Name: "MessageInternal", Type: "string", UI: &runbooker.UIHint{Type: "Textarea"}},
			{Name: "CreateEvent", Type: "bool", Default: false, UI: &runbooker.UIHint{DisplayName: "Create calendar entry?"}},
			{Name: "CallerName", Type: "string", Mandatory: true},
		},
		Customization: []byte(`{"Parameters": {
			"disable": {"DisplayName": "Enable or Disable Out-of-Office", "Select": {"Options": [
				{"Display": "Enable Out-of-Office", "ParameterValue": false, "Customization": {"Mandatory": ["start", "MessageInternal"]}},
				{"Display": "Disable Out-of-Office", "ParameterValue": true, "Customization": {"Hide": ["Start", "End", "messageinternal", "CreateEvent"]}}
			], "ShowValue": false}},
			"UserName": {"Hide": true},
			"Start": {"DisplayName": "Start Date"}
		}}`),
	}
}

func TestSelectWithOptionCustomization(t *testing.T) {
	form, warnings := BuildForm(outOfOffice(), "rjgit-user_mail_set-out-of-office", nil)
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	f := fieldByKey(t, form, "Disable")
	want := []Option{
		{Display: "Enable Out-of-Office", Value: false, Customization: &OptionEffect{Mandatory: []string{"Start", "MessageInternal"}}},
		{Display: "Disable Out-of-Office", Value: true, Customization: &OptionEffect{Hide: []string{"Start", "End", "MessageInternal", "CreateEvent"}}},
	}
	if f.Control != ControlSelect || f.Label != "Enable or Disable Out-of-Office" || f.ShowValue || f.Default != false {
		t.Errorf("Disable = %+v", f)
	}
	if !reflect.DeepEqual(f.Options, want) {
		t.Errorf("options = %+v, want %+v", f.Options, want)
	}
	if s := fieldByKey(t, form, "Start"); s.Label != "Start Date" || s.Control != ControlDateTime || s.Hidden {
		t.Errorf("Start = %+v", s)
	}
	if c := fieldByKey(t, form, "CreateEvent"); c.Label != "Create calendar entry?" {
		t.Errorf("CreateEvent label from Use-RJInterface = %q", c.Label)
	}
}

func TestCustomizationPriority(t *testing.T) {
	meta := runbooker.RunbookMeta{
		Parameters: []runbooker.Parameter{
			{Name: "A", Type: "int", Default: int64(1), UI: &runbooker.UIHint{DisplayName: "From param block"}},
			{Name: "B", Type: "string", Description: "declared help"},
			{Name: "C", Type: "string"},
		},
		Customization: []byte(`{"Parameters": {
			"A": {"DisplayName": "From header", "Default": 2},
			"B": {"Hide": true, "Description": "header help"},
			"C": {"Mandatory": true, "ReadOnly": true}
		}}`),
	}
	// No tenant customization: the header wins over the param block.
	form, _ := BuildForm(meta, "org_general_prio", nil)
	if a := fieldByKey(t, form, "A"); a.Label != "From header" || a.Default != int64(2) {
		t.Errorf("header over param block: A = %+v", a)
	}
	if b := fieldByKey(t, form, "B"); !b.Hidden || b.Control != ControlHidden || b.Description != "header help" {
		t.Errorf("B = %+v", b)
	}
	if c := fieldByKey(t, form, "C"); !c.Mandatory || !c.ReadOnly || c.Control != ControlReadOnly {
		t.Errorf("C = %+v", c)
	}
	// The tenant wins over the header, in both directions.
	tenant := `{"Runbooks": {"ORG_GENERAL_PRIO": {
		"Parameters": {"a": {"DisplayName": "From tenant"}, "b": {"Hide": false}},
		"ParameterList": [{"Name": "A", "DefaultValue": 3}, {"Name": "c", "ReadOnly": false, "Mandatory": false}]
	}, "org_general_other": {"Parameters": {"A": {"DisplayName": "not me"}}}}}`
	form, warnings := BuildForm(meta, "org_general_prio", []byte(tenant))
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if a := fieldByKey(t, form, "A"); a.Label != "From tenant" || a.Default != int64(3) {
		t.Errorf("tenant over header: A = %+v", a)
	}
	if b := fieldByKey(t, form, "B"); b.Hidden || b.Control != ControlText {
		t.Errorf("tenant unhides B: %+v", b)
	}
	if c := fieldByKey(t, form, "C"); c.Mandatory || c.ReadOnly || c.Control != ControlText {
		t.Errorf("tenant relaxes C: %+v", c)
	}
}

func TestSelectSimple(t *testing.T) {
	meta := runbooker.RunbookMeta{
		ContextParameter: "UserName",
		Parameters:       []runbooker.Parameter{{Name: "UserName", Type: "string"}, {Name: "Revoke", Type: "bool", Default: true}, {Name: "Level", Type: "int"}},
		Customization: []byte(`{"Parameters": {"Revoke": {"DisplayName": "Action", "SelectSimple": {"(Re-)Enable User": false, "Revoke Access": true}},
			"Level": {"SelectSimple": {"Low": "1", "High": 9}, "Default": "High"}}}`),
	}
	form, _ := BuildForm(meta, "rjgit-user_security_revoke-or-restore-access", nil)
	f := fieldByKey(t, form, "Revoke")
	if want := []Option{{Display: "(Re-)Enable User", Value: false}, {Display: "Revoke Access", Value: true}}; !reflect.DeepEqual(f.Options, want) || f.Control != ControlSelect || f.Label != "Action" {
		t.Errorf("Revoke = %+v", f)
	}
	if l := fieldByKey(t, form, "Level"); !reflect.DeepEqual(l.Options, []Option{{Display: "Low", Value: int64(1)}, {Display: "High", Value: int64(9)}}) || l.Default != int64(9) {
		t.Errorf("Level = %+v (a default naming an option's display text becomes its value)", l)
	}
}

// addUser mirrors RealmJoin's org/general/add-user example: templates in
// the tenant JSON, a UI-only location select and a company select.
func TestTemplatesRefAndUIOnlyItems(t *testing.T) {
	meta := runbooker.RunbookMeta{
		Parameters: []runbooker.Parameter{
			{Name: "GivenName", Type: "string", Mandatory: true},
			{Name: "CompanyName", Type: "string"},
			{Name: "StreetAddress", Type: "string"},
			{Name: "City", Type: "string"},
			{Name: "CallerName", Type: "string"},
		},
		Customization: []byte(`{"Parameters": {"CallerName": {"Hide": true}}}`),
	}
	tenant := `{
	  // shared option lists
	  "Templates": {"Options": [
	    {"$id": "LocationOptions", "$values": [
	      {"Display": "DE-OF", "Customization": {"Default": {"StreetAddress": "Kaiserstraße 39", "city": "Offenbach"}}},
	      {"Display": "FI-HS", "Customization": {"Default": {"StreetAddress": "Somewhere 42", "City": "Helsinki"}}},
	    ]},
	    {"$id": "CompanyOptions", "$values": [
	      {"Id": "gkg", "Display": "glueckkanja-gab", "Value": "glueckkanja-gab AG"},
	      {"Id": "pp", "Display": "PrimePulse", "Value": "PrimePulse AG"},
	    ]},
	  ]},
	  "Runbooks": {"rjgit-org_general_add-user": {
	    "ParameterList": [
	      {"DisplayName": "Office Location", "DisplayAfter": "CompanyName", "Select": {"Options": {"$ref": "locationoptions"}}},
	      {"Name": "CompanyName", "Select": {"Options": {"$ref": "CompanyOptions"}, "AllowEdit": false}},
	    ],
	    "ReadOnly": ["StreetAddress", "City"],
	  }},
	}`
	form, warnings := BuildForm(meta, "rjgit-org_general_add-user", []byte(tenant))
	if len(warnings) != 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	if want := []string{"GivenName", "CompanyName", "ui:1", "StreetAddress", "City", "CallerName"}; !reflect.DeepEqual(keys(form), want) {
		t.Errorf("order = %v, want %v", keys(form), want)
	}
	loc := fieldByKey(t, form, "ui:1")
	if !loc.UIOnly || loc.Name != "" || loc.Label != "Office Location" || loc.Control != ControlSelect || len(loc.Options) != 2 {
		t.Fatalf("location = %+v", loc)
	}
	if o := loc.Options[0]; o.Value != "DE-OF" || !reflect.DeepEqual(o.Customization.Default, map[string]any{"StreetAddress": "Kaiserstraße 39", "City": "Offenbach"}) {
		t.Errorf("location option = %+v", o)
	}
	company := fieldByKey(t, form, "CompanyName")
	if want := []Option{{Display: "glueckkanja-gab", Value: "glueckkanja-gab AG"}, {Display: "PrimePulse", Value: "PrimePulse AG"}}; !reflect.DeepEqual(company.Options, want) || company.AllowEdit {
		t.Errorf("company = %+v", company)
	}
	if s := fieldByKey(t, form, "StreetAddress"); s.Control != ControlReadOnly || !s.ReadOnly {
		t.Errorf("StreetAddress = %+v", s)
	}
}

func TestGraphFiltersRef(t *testing.T) {
	meta := runbooker.RunbookMeta{Parameters: []runbooker.Parameter{
		{Name: "ManagerId", Type: "string", UI: &runbooker.UIHint{Type: "Graph", Entity: "User"}},
		{Name: "DelegateTo", Type: "string", UI: &runbooker.UIHint{Type: "Graph", Entity: "User", Filter: "accountEnabled eq true"}},
		{Name: "Owner", Type: "string", UI: &runbooker.UIHint{Type: "Graph", Entity: "User", Filter: "keep me"}},
	}}
	tenant := `{"GraphFilters": {"Members": "userType eq 'Member'"},
	  "Runbooks": {"org_general_x": {"Parameters": {
	    "ManagerId": {"GraphFilter": "ref:members"},
	    "DelegateTo": {"GraphFilter": "startswith(displayName,'a')"},
	    "Owner": {"GraphFilter": "ref:Nobody"}}}}}`
	form, warnings := BuildForm(meta, "org_general_x", []byte(tenant))
	if f := fieldByKey(t, form, "ManagerId"); f.Filter != "userType eq 'Member'" {
		t.Errorf("ManagerId filter = %q", f.Filter)
	}
	if f := fieldByKey(t, form, "DelegateTo"); f.Filter != "startswith(displayName,'a')" {
		t.Errorf("DelegateTo filter = %q", f.Filter)
	}
	if f := fieldByKey(t, form, "Owner"); f.Filter != "keep me" {
		t.Errorf("an unknown ref keeps the lower source's filter, got %q", f.Filter)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].Message, `"Nobody"`) || warnings[0].Line != 5 || warnings[0].Column != 31 || warnings[0].Source != "tenant-customization" {
		t.Errorf("warnings = %+v", warnings)
	}
}

func TestSettingsPrefill(t *testing.T) {
	setting := func(attr string) *runbooker.UIHint { return &runbooker.UIHint{Type: "Setting", Attribute: attr} }
	meta := runbooker.RunbookMeta{
		Parameters: []runbooker.Parameter{
			{Name: "DeleteUser", Type: "bool", Default: true, UI: setting("OffboardUserPermanently.deleteUser")},
			{Name: "Prefix", Type: "string", Default: "LIC_M365", UI: setting("OffboardUserPermanently.licenseGroupsToRemovePrefix")},
			{Name: "Days", Type: "int", UI: setting("offboarduserpermanently.retention.days")},
			{Name: "Missing", Type: "string", Default: "script", UI: setting("OffboardUserPermanently.nothing")},
			{Name: "Overridden", Type: "string", UI: setting("OffboardUserPermanently.licenseGroupsToAdd")},
		},
		Customization: []byte(`{"Parameters": {"Overridden": {"Default": "from header"}}}`),
	}
	tenant := `{"Settings": {"OffboardUserPermanently": {"deleteUser": false, "licenseGroupsToRemovePrefix": "LIC_",
		"licenseGroupsToAdd": "LIC_E1", "Retention": {"Days": 30}}}}`
	form, warnings := BuildForm(meta, "user_general_offboard", []byte(tenant))
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	for key, want := range map[string]any{"DeleteUser": false, "Prefix": "LIC_", "Days": int64(30), "Missing": "script", "Overridden": "from header"} {
		if f := fieldByKey(t, form, key); !reflect.DeepEqual(f.Default, want) {
			t.Errorf("%s default = %#v, want %#v", key, f.Default, want)
		}
	}
	if f := fieldByKey(t, form, "Prefix"); f.Setting != "OffboardUserPermanently.licenseGroupsToRemovePrefix" {
		t.Errorf("Setting = %q", f.Setting)
	}
}

// convertToShared mirrors RealmJoin's user/mail/convert-to-shared-mailbox:
// an unnamed Select that only sets and hides other parameters.
func TestParameterListUnnamedSelect(t *testing.T) {
	meta := runbooker.RunbookMeta{
		ContextParameter: "UserName",
		Parameters: []runbooker.Parameter{
			{Name: "UserName", Type: "string"}, {Name: "delegateTo", Type: "string"},
			{Name: "Remove", Type: "bool", Default: false}, {Name: "AutoMapping", Type: "bool"},
			{Name: "RegularLicenseGroup", Type: "string"}, {Name: "Extra", Type: "string"},
		},
		Customization: []byte(`{"Parameters": {"UserName": {"Hide": true}, "Remove": {"Hide": true}, "Extra": {"Hide": true}},
		  "ParameterList": [{"DisplayName": "Action", "DisplayBefore": "AutoMapping", "Select": {"Options": [
		    {"Display": "Turn into shared mailbox", "Customization": {"Default": {"Remove": false}, "Hide": ["RegularLicenseGroup"]}},
		    {"Display": "Turn back into regular mailbox", "Customization": {"Default": {"Remove": true}, "Hide": ["AutoMapping", "DelegateTo"], "Show": ["extra"]}}
		  ]}, "Default": "Turn into shared mailbox"}]}`),
	}
	form, _ := BuildForm(meta, "rjgit-user_mail_convert-to-shared-mailbox", nil)
	if want := []string{"UserName", "delegateTo", "Remove", "ui:1", "AutoMapping", "RegularLicenseGroup", "Extra"}; !reflect.DeepEqual(keys(form), want) {
		t.Errorf("order = %v, want %v", keys(form), want)
	}
	action := fieldByKey(t, form, "ui:1")
	if action.Default != "Turn into shared mailbox" || action.Options[1].Value != "Turn back into regular mailbox" {
		t.Errorf("action = %+v", action)
	}
	if e := action.Options[1].Customization; !reflect.DeepEqual(e.Hide, []string{"AutoMapping", "delegateTo"}) || e.Default["Remove"] != true {
		t.Errorf("effect = %+v", e)
	}
	if r := fieldByKey(t, form, "Remove"); r.Control != ControlHidden || !r.Hidden {
		t.Errorf("Remove is hidden for good: %+v", r)
	}
	if x := fieldByKey(t, form, "Extra"); x.Control != ControlText || !x.Hidden {
		t.Errorf("Extra is hidden until an option shows it: %+v", x)
	}
	if g := fieldByKey(t, form, "RegularLicenseGroup"); g.Hidden || g.Control != ControlText {
		t.Errorf("RegularLicenseGroup starts visible: %+v", g)
	}
}

func TestDisplayBeforeAfter(t *testing.T) {
	params := []runbooker.Parameter{{Name: "A", Type: "string"}, {Name: "B", Type: "string"}, {Name: "C", Type: "string"}, {Name: "D", Type: "string"}}
	tests := []struct {
		header, tenant string
		want           []string
		warn           string
	}{
		{`{"Parameters": {"D": {"DisplayBefore": "a"}}}`, "", []string{"D", "A", "B", "C"}, ""},
		{`{"Parameters": {"A": {"DisplayAfter": "D"}}}`, "", []string{"B", "C", "D", "A"}, ""},
		{`{"Parameters": {"A": {"DisplayAfter": "B"}, "C": {"DisplayBefore": "A"}}}`, "", []string{"B", "C", "A", "D"}, ""},
		{`{"Parameters": {"A": {"DisplayAfter": "D"}}}`, `{"Runbooks": {"org_x_y": {"Parameters": {"A": {"DisplayAfter": "B"}}}}}`, []string{"B", "A", "C", "D"}, ""},
		{"", `{"Runbooks": {"org_x_y": {"Parameters": {"B": {"DisplayBefore": "Z"}}}}}`, []string{"A", "B", "C", "D"}, `"B" cannot be placed next to "Z"`},
		{`{"Parameters": {"B": {"DisplayBefore": "B"}}}`, "", []string{"A", "B", "C", "D"}, ""},
	}
	for _, tt := range tests {
		meta := runbooker.RunbookMeta{Parameters: params, Customization: []byte(tt.header)}
		if tt.header == "" {
			meta.Customization = nil
		}
		form, warnings := BuildForm(meta, "org_x_y", []byte(tt.tenant))
		if !reflect.DeepEqual(keys(form), tt.want) {
			t.Errorf("%s + %s: order = %v, want %v", tt.header, tt.tenant, keys(form), tt.want)
		}
		if tt.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0].Message, tt.warn)) {
			t.Errorf("warnings = %v, want one containing %q", warnings, tt.warn)
		}
	}
}

func TestBrokenTenantCustomization(t *testing.T) {
	meta := outOfOffice()
	plain, _ := BuildForm(meta, "rjgit-user_mail_set-out-of-office", nil)
	for _, tc := range []struct {
		tenant    string
		line, col int
		msg       string
	}{
		{"{\n  \"Runbooks\": {\n    \"x\": {\"Parameters\": {\"A\" {}}}\n  }\n}", 3, 30, "expected ':'"},
		{"{\"Runbooks\": [1, 2", 1, 14, "unterminated array"},
		{"[]", 1, 1, "must be a JSON object"},
	} {
		form, warnings := BuildForm(meta, "rjgit-user_mail_set-out-of-office", []byte(tc.tenant))
		if !reflect.DeepEqual(form, plain) {
			t.Errorf("%q: the form must be the uncustomised one", tc.tenant)
		}
		if len(warnings) != 1 {
			t.Fatalf("%q: warnings = %v", tc.tenant, warnings)
		}
		w := warnings[0]
		if w.Source != "tenant-customization" || w.Line != tc.line || w.Column != tc.col || !strings.Contains(w.Message, tc.msg) {
			t.Errorf("%q: warning = %+v, want %d:%d %q", tc.tenant, w, tc.line, tc.col, tc.msg)
		}
	}
}

func TestCustomizationSemanticWarnings(t *testing.T) {
	meta := runbooker.RunbookMeta{Parameters: []runbooker.Parameter{{Name: "A", Type: "string"}, {Name: "B", Type: "bool"}}}
	tenant := `{"Templates": {"Options": [{"$id": 1}]},
	"Runbooks": {"org_x_y": {
	  "Parameters": {"Nope": {"Hide": true}, "A": {"Hide": "yes", "Select": {"Options": {"$ref": "Missing"}}}, "B": {"SelectSimple": [1]}},
	  "ParameterList": [{"DisplayName": "Lonely"}, {"Name": "Ghost"}, {"Select": {"Options": [{"Display": "x", "Customization": {"Hide": ["Phantom"]}}]}}],
	  "ReadOnly": ["Spook"]
	}}}`
	form, warnings := BuildForm(meta, "org_x_y", []byte(tenant))
	var msgs []string
	for _, w := range warnings {
		if w.Line == 0 || w.Column == 0 {
			t.Errorf("warning without position: %+v", w)
		}
		msgs = append(msgs, w.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{`"$id"`, `no parameter "Nope"`, `Hide of "A" must be true or false`, `template "Missing"`, `SelectSimple of "B"`, `without "Name"`, `no parameter "Ghost"`, `names "Phantom" in Hide`, `ReadOnly: the runbook has no parameter "Spook"`} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %s:\n%s", want, all)
		}
	}
	if a := fieldByKey(t, form, "A"); a.Hidden || a.Control != ControlText {
		t.Errorf("bad modifiers are skipped: %+v", a)
	}
	if len(form.Fields) != 3 {
		t.Errorf("fields = %v", keys(form))
	}
}
