package access

import (
	"errors"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

func TestParsePermissions(t *testing.T) {
	p, err := ParsePermissions([]byte(`{
		// RealmJoin's documented shape, as people write it
		"EnabledRunbookPatterns": ["rjgit-*", "user_*",],
		"DisabledRunbookPatterns": ["rjgit-org_*"],
		"Roles": {
			"Helpdesk": {"Groups": ["g-helpdesk"], "AllowedRunbookPatterns": ["rjgit-user_*"]},
			"Sales": {"groups": "g-sales", "allowedRunbookPatterns": ["user_*"]}, /* keys in any case */
		},
		"TargetEntityGroups": {"g-vip": {"RestrictRoles": {"Helpdesk": ["g-vip-supporters"]}}},
		"Colour": "blue",
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.RoleNames(), ","); got != "Helpdesk,Sales" {
		t.Errorf("roles %q", got)
	}
	if !p.HasRoles() {
		t.Error("HasRoles false")
	}
	w := p.Warnings()
	if len(w) != 1 || !strings.Contains(w[0].Message, `unknown key "Colour"`) || w[0].Line != 10 {
		t.Errorf("warnings %+v", w)
	}
	if !p.Enabled("rjgit-user_x_y") || p.Enabled("rjgit-org_x_y") || p.Enabled("device_x_y") {
		t.Error("enabled patterns not applied")
	}
	// A trimmed pattern and group id work as if written without the spaces.
	p = mustPermissions(t, `{"Roles": {"A": {"Groups": [" g "], "AllowedRunbookPatterns": [" x_* "]}}}`)
	if d := Decide(p, person("G"), Run, "x_y_z", nil); !d.Allow {
		t.Errorf("trimmed pattern: %+v", d)
	}
	p = mustPermissions(t, `{"Roles": {"A": {"Groups": ["g"], "AllowedRunbookPatterns": null}}}`)
	if d := Decide(p, person("g"), See, "x_y_z", nil); d.Allow {
		t.Errorf("a role without patterns allows: %+v", d)
	}
}

func TestParsePermissionsEmpty(t *testing.T) {
	for _, src := range []string{"", "  \n", "{}", "null", "// nothing yet\n{}"} {
		p, err := ParsePermissions([]byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if p.HasRoles() || !p.Enabled("anything_at_all") || !p.Schedulable("x_y_z_scheduled") || p.Schedulable("x_y_z") {
			t.Errorf("%q is not the empty document", src)
		}
	}
}

func TestParsePermissionsWarnings(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{"Roles": {"A": {"Groups": ["g"], "AllowedRunbookPatterns": ["*"], "Colour": 1}}}`, `Roles.A: unknown key "Colour"`},
		{`{"Roles": {"A": {"AllowedRunbookPatterns": ["*"]}}}`, "Roles.A has no Groups"},
		{`{"Roles": {"A": {"Groups": ["g"]}}}`, "Roles.A has no AllowedRunbookPatterns"},
		{`{"TargetEntityGroups": {"g": {"RestrictRoles": {"A": []}}}}`, "has no effect without Roles"},
		{`{"Roles": {}, "TargetEntityGroups": {"g": {"RestrictRoles": {"A": []}}}}`, `Roles defines no role "A"`},
		{`{"Roles": {}, "TargetEntityGroups": {"g": {"Restrict": {}}}}`, `unknown key "Restrict"`},
		{`{"Roles": {}, "roles": {}}`, "Roles is given twice"},
		{`{"Roles": {}}`, "Roles is empty: only administrators"},
		{`{"EnabledRunbookPatterns": []}`, "EnabledRunbookPatterns is empty, so no runbook matches it"},
		{`{"DisabledRunbookPatterns": [" rjgit-org_* "]}`, `DisabledRunbookPatterns[0]: spaces around " rjgit-org_* " ignored`},
	}
	for _, tt := range tests {
		p, err := ParsePermissions([]byte(tt.src))
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		var all []string
		for _, w := range p.Warnings() {
			all = append(all, w.Message)
		}
		if !strings.Contains(strings.Join(all, "\n"), tt.want) {
			t.Errorf("%s: warnings %q, want one containing %q", tt.src, all, tt.want)
		}
	}
}

func TestParsePermissionsErrors(t *testing.T) {
	tests := []struct {
		src, want string
		line      int
	}{
		{`[]`, "must be a JSON object, found a list", 1},
		{`{"EnabledRunbookPatterns": 7}`, "EnabledRunbookPatterns must be a list of runbook name patterns, found a number", 1},
		{`{"DisabledRunbookPatterns": ["a", 1]}`, "DisabledRunbookPatterns[1] must be a string, found a number", 1},
		{`{"SchedulingEnabledRunbookPatterns": [""]}`, "SchedulingEnabledRunbookPatterns[0]: empty pattern", 1},
		{`{"SchedulingDisabledRunbookPatterns": {}}`, "SchedulingDisabledRunbookPatterns must be a list", 1},
		{`{"Roles": []}`, "Roles must be an object of role names, found a list", 1},
		{"{\"Roles\": {\n\"A\": 1}}", "Roles.A must be an object", 2},
		{`{"Roles": {"A": {"Groups": [true]}}}`, "Roles.A.Groups[0] must be a string, found a boolean", 1},
		{`{"Roles": {"A": {"Groups": [" "]}}}`, "Roles.A.Groups[0]: empty group id", 1},
		{`{"Roles": {"A": {"AllowedRunbookPatterns": 1}}}`, "Roles.A.AllowedRunbookPatterns must be a list", 1},
		{`{"Roles": {"A": {}, "a": {}}}`, `role "a" is defined twice`, 1},
		{`{"Roles": {"": {}}}`, "a role needs a name", 1},
		{`{"TargetEntityGroups": []}`, "TargetEntityGroups must be an object of group ids", 1},
		{`{"TargetEntityGroups": {"g": []}}`, "TargetEntityGroups.g must be an object with RestrictRoles", 1},
		{`{"TargetEntityGroups": {"g": {}, "G": {}}}`, `group "G" is listed twice`, 1},
		{`{"TargetEntityGroups": {"g": {"RestrictRoles": []}}}`, "TargetEntityGroups.g.RestrictRoles must be an object", 1},
		{`{"TargetEntityGroups": {"g": {"RestrictRoles": {"A": 5}}}}`, "TargetEntityGroups.g.RestrictRoles.A must be a list of group ids", 1},
		{`{"TargetEntityGroups": {"g": {"RestrictRoles": {"A": [], "a": []}}}}`, `role "a" is restricted twice`, 1},
		{"{\n  \"Roles\": {,}}", "", 2}, // a syntax error, from loosejson
	}
	for _, tt := range tests {
		_, err := ParsePermissions([]byte(tt.src))
		var pe *runbooker.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v, want a ParseError", tt.src, err)
			continue
		}
		if !strings.Contains(pe.Message, tt.want) || pe.Line != tt.line || pe.Source != "permissions" {
			t.Errorf("%s: error %q (source %q, line %d), want %q on line %d", tt.src, err, pe.Source, pe.Line, tt.want, tt.line)
		}
	}
}

func FuzzParsePermissions(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(vipDocument))
	f.Add([]byte(usDocument))
	f.Add([]byte(`{"EnabledRunbookPatterns": "x*", "DisabledRunbookPatterns": ["*y",], // c
		"SchedulingEnabledRunbookPatterns": null, "SchedulingDisabledRunbookPatterns": ["*"]}`))
	f.Add([]byte(`{"Roles": {"A": {"Groups": null}}, "TargetEntityGroups": {"g": {"RestrictRoles": null}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParsePermissions(src)
		if err != nil {
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) || pe.Message == "" {
				t.Fatalf("error %v is not a ParseError with a message", err)
			}
			return
		}
		// Whatever parsed must be usable.
		c := Caller{Person: true, Rights: map[Right]bool{CanRunRunbooks: true, CanEditRunbookSchedules: true}, Groups: []string{"g", "G-Helpdesk"}}
		tg := &Target{Groups: []GroupRef{{ID: "g"}, {ID: "g-vip"}}}
		for _, a := range []Action{See, Run, Schedule} {
			if d := Decide(p, c, a, "rjgit-user_security_x_scheduled", tg); d.Reason == "" {
				t.Fatalf("decision without a reason: %+v", d)
			}
		}
	})
}
