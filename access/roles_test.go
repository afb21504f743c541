package access

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

const rolesDocument = `{
	// Who may do what in the portal.
	"roles": [
		{"name": "Helpdesk", "rights": ["CanSeeRunbooks", "CanRunRunbooks", "canreadrunbooktable"]},
		{"name": "Schedulers", "rights": ["CanEditRunbookSchedules"], "description": "plan jobs"},
		{"name": "Nothing"},
	],
	"assignments": [
		{"role": "Administrator", "user": "Admin@Contoso.com"},
		{"role": "Runbook Runner", "group": "g-runners"},
		{"role": "helpdesk", "group": "G-Helpdesk"},
		{"role": "Reader", "user": "0f9c2a7e-id-of-audrey"},
		{"role": "Schedulers", "group": "g-planners"},
	],
}`

func TestParseRoles(t *testing.T) {
	rs, err := ParseRoles([]byte(rolesDocument))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rs.Names(), ","); got != "Administrator,Runbook Runner,Reader,Helpdesk,Schedulers,Nothing" {
		t.Errorf("names %q", got)
	}
	h, ok := rs.Role("HELPDESK")
	if !ok || h.BuiltIn || !slices.Equal(h.Rights, []Right{CanSeeRunbooks, CanRunRunbooks, CanReadRunbookTable}) {
		t.Errorf("Helpdesk %+v", h)
	}
	if a := rs.Assignments(); len(a) != 5 || a[2].Role != "Helpdesk" || a[2].Group != "G-Helpdesk" {
		t.Errorf("assignments %+v", a)
	}

	tests := []struct {
		name   string
		users  []string
		groups []string
		want   []Right
	}{
		{"admin by upn, any case", []string{"admin@contoso.com", "some-id"}, nil, allRights},
		{"runner group", []string{"x@contoso.com"}, []string{"g-runners"}, []Right{CanSeeRunbooks, CanRunRunbooks, CanReadRunbookTable, CanReadRunbookDetails}},
		{"custom role through a group", nil, []string{"g-helpdesk"}, []Right{CanSeeRunbooks, CanRunRunbooks, CanReadRunbookTable}},
		{"reader by directory id", []string{"audrey@contoso.com", "0F9C2A7E-ID-OF-AUDREY"}, nil, []Right{CanSeeRunbooks, CanReadRunbookTable, CanReadRunbookDetails}},
		{"union of two roles", nil, []string{"g-planners", "g-helpdesk"}, []Right{CanSeeRunbooks, CanRunRunbooks, CanReadRunbookTable, CanEditRunbookSchedules}},
		{"nobody", []string{"stranger@contoso.com"}, []string{"g-other"}, nil},
	}
	for _, tt := range tests {
		got := rs.RightsOf(tt.users, tt.groups)
		want := rights(tt.want...)
		if !maps.Equal(got, want) {
			t.Errorf("%s: %v, want %v", tt.name, got, want)
		}
	}
}

func TestRightsImplied(t *testing.T) {
	rs, err := ParseRoles([]byte(`{"roles": [{"name": "Runner only", "rights": ["CanRunRunbooks"]}],
		"assignments": [{"role": "Runner only", "user": "u"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.RightsOf([]string{"u"}, nil); !got[CanSeeRunbooks] || !got[CanRunRunbooks] || got[CanReadRunbookTable] {
		t.Errorf("CanRunRunbooks does not imply CanSeeRunbooks alone: %v", got)
	}
}

func TestParseRolesEmpty(t *testing.T) {
	for _, src := range []string{"", " \n", "null", "{}", `{"roles": [], "assignments": null}`} {
		rs, err := ParseRoles([]byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if len(rs.Assignments()) != 0 || len(rs.RightsOf([]string{"admin"}, []string{"g"})) != 0 || len(rs.Names()) != 3 {
			t.Errorf("%q is not the empty document", src)
		}
	}
	var rs *Roles
	if len(rs.RightsOf([]string{"a"}, nil)) != 0 || len(rs.Names()) != 3 || len(rs.All()) != 3 {
		t.Error("a nil *Roles is not the empty document")
	}
}

func TestParseRolesErrors(t *testing.T) {
	tests := []struct {
		src, want string
		line      int
	}{
		{`[]`, "must be a JSON object, found a list", 1},
		{`{"role": []}`, `unknown key "role" (known keys: roles, assignments)`, 1},
		{`{"roles": {}}`, "roles must be a list of role objects, found an object", 1},
		{`{"roles": [7]}`, "roles[0] must be an object, found a number", 1},
		{`{"roles": [{"rights": []}]}`, `roles[0]: "name" is missing`, 1},
		{`{"roles": [{"name": ""}]}`, "roles[0].name is empty", 1},
		{`{"roles": [{"name": 1}]}`, "roles[0].name must be a string, found a number", 1},
		{`{"roles": [{"name": "A", "colour": 1}]}`, `roles[0]: unknown key "colour"`, 1},
		{`{"roles": [{"name": "A", "name": "B"}]}`, `roles[0]: "name" is given twice`, 1},
		{"{\"roles\": [{\"name\": \"A\",\n \"rights\": [\"CanSeeRunbooks\", \"CanDance\"]}]}", `roles[0] ("A").rights[1]: unknown right "CanDance"`, 2},
		{`{"roles": [{"name": "A", "rights": {}}]}`, `roles[0] ("A").rights must be a list of rights, found an object`, 1},
		{`{"roles": [{"name": "reader"}]}`, `roles[0] ("reader"): "Reader" is a built-in role and cannot be redefined`, 1},
		{"{\"roles\": [{\"name\": \"A\"},\n{\"name\": \"a\"}]}", `roles[1] ("a"): role "a" is defined twice`, 2},
		{`{"assignments": {}}`, "assignments must be a list of assignment objects", 1},
		{`{"assignments": [{"user": "u"}]}`, `assignments[0]: "role" is missing`, 1},
		{"{\"assignments\": [\n{\"role\": \"Boss\", \"user\": \"u\"}]}", `assignments[0]: unknown role "Boss" (roles: Administrator, Runbook Runner, Reader)`, 2},
		{`{"assignments": [{"role": "Reader", "user": "u", "group": "g"}]}`, `assignments[0] (role "Reader"): names both a user and a group`, 1},
		{`{"assignments": [{"role": "Reader"}]}`, `assignments[0] (role "Reader"): names neither a user nor a group`, 1},
		{`{"assignments": [{"role": "Reader", "user": ""}]}`, "assignments[0].user is empty", 1},
		{`{"assignments": [{"role": "Reader", "group": 5}]}`, "assignments[0].group must be a string, found a number", 1},
		{`{"assignments": [{"role": "Reader", "User": "a", "user": "b"}]}`, `assignments[0]: "user" is given twice`, 1},
		{"{\n\"roles\": [,]}", "", 2}, // a syntax error, from loosejson
	}
	for _, tt := range tests {
		_, err := ParseRoles([]byte(tt.src))
		var pe *runbooker.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v, want a ParseError", tt.src, err)
			continue
		}
		if !strings.Contains(pe.Message, tt.want) || pe.Line != tt.line || pe.Source != "roles" {
			t.Errorf("%s: error %q (source %q, line %d), want %q on line %d", tt.src, err, pe.Source, pe.Line, tt.want, tt.line)
		}
	}
}

func FuzzParseRoles(f *testing.F) {
	f.Add([]byte(rolesDocument))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"roles": [{"name": "A", "rights": "Admin"}], "assignments": [{"role": "a", "group": "g"}]}`))
	f.Add([]byte(`{"assignments": [{"role": "Reader", "user": "u", "group": "g"}]}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		rs, err := ParseRoles(src)
		if err != nil {
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) || pe.Message == "" {
				t.Fatalf("error %v is not a ParseError with a message", err)
			}
			return
		}
		got := rs.RightsOf([]string{"u", "admin@contoso.com"}, []string{"g", "g-runners"})
		if got[Admin] && len(got) != len(allRights) {
			t.Fatalf("Admin without every right: %v", got)
		}
		if got[CanRunRunbooks] && !got[CanSeeRunbooks] {
			t.Fatalf("CanRunRunbooks without CanSeeRunbooks: %v", got)
		}
		for _, a := range rs.Assignments() {
			if (a.User == "") == (a.Group == "") {
				t.Fatalf("assignment %+v names both or neither", a)
			}
			if _, ok := rs.Role(a.Role); !ok {
				t.Fatalf("assignment %+v of an unknown role", a)
			}
		}
	})
}
