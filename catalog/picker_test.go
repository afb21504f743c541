package catalog

import (
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

// RealmJoin's rule for what a picker submits: the id, unless the parameter
// name ends in "name" (then the UPN for users, the display name for groups
// and devices), unless -Attribute says otherwise.
func TestPickerReturns(t *testing.T) {
	graph := func(entity, attr string) *runbooker.UIHint {
		return &runbooker.UIHint{Type: "Graph", Entity: entity, Attribute: attr}
	}
	tests := []struct {
		name string
		hint *runbooker.UIHint
		want string
	}{
		{"UserName", graph("User", ""), ReturnsUserPrincipalName},
		{"UserId", graph("User", ""), ReturnsID},
		{"ManagerName", graph("User", ""), ReturnsUserPrincipalName},
		{"GroupName", graph("Group", ""), ReturnsDisplayName},
		{"groupname", graph("Group", ""), ReturnsDisplayName},
		{"DeviceName", graph("Device", ""), ReturnsDisplayName},
		{"DeviceId", graph("Device", ""), ReturnsID},
		{"GroupID_License", graph("Group", ""), ReturnsID},
		{"GroupIDs", graph("Group", ""), ReturnsID},
		{"BookInPolicyGroup", graph("Group", ""), ReturnsID},
		{"targetgroup", graph("Group", ""), ReturnsID},
		{"DelegateTo", graph("", ""), ReturnsID}, // no -Entity: a user picker
		// An explicit -Attribute decides outright, against the name too.
		{"DelegateTo", graph("User", "userPrincipalName"), ReturnsUserPrincipalName},
		{"UserName", graph("User", "mail"), "mail"},
		{"GroupId", graph("Group", "displayName"), ReturnsDisplayName},
	}
	for _, tt := range tests {
		meta := runbooker.RunbookMeta{Parameters: []runbooker.Parameter{{Name: tt.name, Type: "string", UI: tt.hint}}}
		form, warnings := BuildForm(meta, "org_general_pick", nil)
		f := fieldByKey(t, form, tt.name)
		if f.Control != ControlEntity || f.Returns != tt.want || len(warnings) != 0 {
			t.Errorf("%s (-Entity %q -Attribute %q): control %s returns %q, want entity %q; warnings %v",
				tt.name, tt.hint.Entity, tt.hint.Attribute, f.Control, f.Returns, tt.want, warnings)
		}
	}
}

// The context field tells the portal what to fill in just as a picker
// does; a device is identified by its Entra deviceId, which is what
// RealmJoin's device runbooks look up.
func TestContextReturns(t *testing.T) {
	tests := []struct {
		runbook, param string
		hint           *runbooker.UIHint
		entity, want   string
	}{
		{"rjgit-user_general_x", "UserName", nil, "user", ReturnsUserPrincipalName},
		{"rjgit-user_general_x", "UserId", nil, "user", ReturnsID},
		{"rjgit-group_general_x", "GroupID", nil, "group", ReturnsID},
		{"rjgit-group_general_x", "GroupName", nil, "group", ReturnsDisplayName},
		{"rjgit-device_general_x", "DeviceId", nil, "device", ReturnsDeviceID},
		{"rjgit-device_general_x", "DeviceName", nil, "device", ReturnsDisplayName},
		// A Graph hint on the context parameter: its -Attribute still decides.
		{"rjgit-user_general_x", "UserName", &runbooker.UIHint{Type: "Graph", Entity: "User", Attribute: "mail"}, "user", "mail"},
		{"rjgit-device_general_x", "DeviceId", &runbooker.UIHint{Type: "Graph", Entity: "Device"}, "device", ReturnsDeviceID},
	}
	for _, tt := range tests {
		params := []runbooker.Parameter{{Name: tt.param, Type: "string", Mandatory: true, UI: tt.hint}, {Name: "CallerName", Type: "string"}}
		n, _ := ParseName(tt.runbook)
		meta := runbooker.RunbookMeta{Parameters: params, ContextParameter: ContextParameter(n.Scope, params)}
		form, _ := BuildForm(meta, tt.runbook, nil)
		f := fieldByKey(t, form, tt.param)
		if !f.Context || f.Control != ControlHidden || f.Entity != tt.entity || f.Returns != tt.want {
			t.Errorf("%s %s: context %v control %s entity %q returns %q, want entity %q returns %q",
				tt.runbook, tt.param, f.Context, f.Control, f.Entity, f.Returns, tt.entity, tt.want)
		}
		if c := fieldByKey(t, form, "CallerName"); c.Returns != "" {
			t.Errorf("CallerName returns %q", c.Returns)
		}
	}
}

// A Use-RJInterface control that cannot edit the declared type is refused:
// the type's own control stays, and Analyze says so at the declaration.
func TestHintTypeClash(t *testing.T) {
	script := `param(
    [ValidateScript( { Use-RJInterface -Type Number } )]
    [bool] $OneTimeUse = $true,
    [ValidateScript( { Use-RJInterface -Type Graph -Entity Group } )]
    [int] $Count = 2,
    [ValidateScript( { Use-RJInterface -Type Number } )]
    [int] $Lifetime = 60,
    [ValidateScript( { Use-RJInterface -Type Textarea } )]
    [string[]] $Lines
)
`
	meta, _, err := Analyze(AnalyzeInput{Name: "rjgit-org_general_clash", FileName: "clash.ps1", Content: []byte(script)})
	if err != nil || meta.ParseError != nil {
		t.Fatal(err, meta.ParseError)
	}
	var msgs []string
	for _, w := range meta.Warnings {
		msgs = append(msgs, w.Error())
		if w.Source != "script" {
			t.Errorf("source %q", w.Source)
		}
	}
	if len(meta.Warnings) != 2 {
		t.Fatalf("warnings = %q, want one for $OneTimeUse and one for $Count", msgs)
	}
	if w := meta.Warnings[0]; w.Line != 3 || w.Column != 12 || !strings.Contains(w.Message, "$OneTimeUse is of type bool") || !strings.Contains(w.Message, "-Type Number") {
		t.Errorf("warning = %+v", w)
	}
	if w := meta.Warnings[1]; w.Line != 5 || w.Column != 11 || !strings.Contains(w.Message, "$Count is of type int") {
		t.Errorf("warning = %+v", w)
	}
	form, warnings := BuildForm(meta, "rjgit-org_general_clash", nil)
	if len(warnings) != 0 {
		t.Errorf("BuildForm repeats Analyze's warnings: %v", warnings)
	}
	for key, want := range map[string]string{"OneTimeUse": ControlToggle, "Count": ControlNumber, "Lifetime": ControlNumber, "Lines": ControlTextarea} {
		if f := fieldByKey(t, form, key); f.Control != want || f.Entity != "" || f.Returns != "" {
			t.Errorf("%s: control %s entity %q returns %q, want %s", key, f.Control, f.Entity, f.Returns, want)
		}
	}
	if f := fieldByKey(t, form, "OneTimeUse"); f.Default != true {
		t.Errorf("OneTimeUse default = %#v", f.Default)
	}
}
