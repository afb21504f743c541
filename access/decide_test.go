package access

import (
	"fmt"
	"strings"
	"testing"
)

// vipDocument is RealmJoin's "VIP support crew" example: the helpdesk runs
// user and device runbooks, but on VIP users only those of them who are
// also VIP supporters.
const vipDocument = `{
	"Roles": {
		"Helpdesk": {"Groups": ["g-helpdesk"], "AllowedRunbookPatterns": ["rjgit-user_*", "rjgit-device_*"]},
	},
	"TargetEntityGroups": {
		"g-vip": {"RestrictRoles": {"Helpdesk": ["g-vip-supporters"]}},
		"g-frozen": {"RestrictRoles": {"Helpdesk": []}}, // nobody may touch these
	},
}`

// usDocument is RealmJoin's "US supporters only manage US users" example.
// The Supporters role is held by US and EU supporters; All-Users leaves it
// to nobody and US-Users to the US supporters.
const usDocument = `{
	"Roles": {"Supporters": {"Groups": ["g-us-supporters", "g-eu-supporters"], "AllowedRunbookPatterns": ["*"]}},
	"TargetEntityGroups": {
		"g-all-users": {"RestrictRoles": {"Supporters": []}},
		"g-us-users": {"RestrictRoles": {"Supporters": ["G-US-SUPPORTERS"]}},
	},
}`

// fullDocument exercises the tenant-wide patterns next to roles.
const fullDocument = `{
	"EnabledRunbookPatterns": ["rjgit-*", "user_*"],
	"DisabledRunbookPatterns": ["rjgit-org_danger_*", "RJGIT-USER_LEGACY_*"],
	"SchedulingDisabledRunbookPatterns": ["*_noschedule*"],
	"Roles": {
		"Helpdesk": {"Groups": ["g-helpdesk"], "AllowedRunbookPatterns": ["rjgit-user_*", "*-device-*"]},
		"VIP desk": {"Groups": ["g-vip-supporters"], "AllowedRunbookPatterns": ["rjgit-user_*"]},
		"Reporting": {"Groups": ["g-reporting"], "AllowedRunbookPatterns": ["rjgit-org_*"]},
	},
	"TargetEntityGroups": {"g-vip": {"RestrictRoles": {"Helpdesk": ["g-vip-supporters"]}}},
}`

func mustPermissions(t testing.TB, src string) *Permissions {
	t.Helper()
	p, err := ParsePermissions([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rights(rs ...Right) map[Right]bool {
	m := map[Right]bool{}
	for _, r := range rs {
		m[r] = true
	}
	return m
}

func person(groups ...string) Caller {
	return Caller{Name: "someone", Person: true, Rights: rights(CanSeeRunbooks, CanRunRunbooks), Groups: groups}
}

func TestDecide(t *testing.T) {
	vip := mustPermissions(t, vipDocument)
	us := mustPermissions(t, usDocument)
	full := mustPermissions(t, fullDocument)
	none := mustPermissions(t, `{}`)
	emptyRoles := mustPermissions(t, `{"Roles": {}}`)
	schedule := mustPermissions(t, `{"SchedulingEnabledRunbookPatterns": ["*_report*"], "SchedulingDisabledRunbookPatterns": ["*_scheduled"]}`)

	allUsers := GroupRef{ID: "g-all-users", Name: "All users"}
	usUsers := GroupRef{ID: "g-us-users", Name: "US users"}
	vipUsers := GroupRef{ID: "g-vip", Name: "VIP users"}
	normalUser := &Target{Kind: "user", ID: "u1", Name: "jane@contoso.com", Groups: []GroupRef{allUsers}}
	ceo := &Target{Kind: "user", ID: "u2", Name: "ceo@contoso.com", Groups: []GroupRef{allUsers, vipUsers}}
	// A device is judged by its primary user's groups: the server fills in
	// the CEO's groups for the CEO's laptop.
	ceoLaptop := &Target{Kind: "device", ID: "d1", Name: "CEO-LAPTOP", Groups: ceo.Groups}
	usUser := &Target{Kind: "user", ID: "u3", Name: "joe@contoso.com", Groups: []GroupRef{allUsers, usUsers}}
	frozenUser := &Target{Kind: "user", ID: "u4", Groups: []GroupRef{{ID: "G-FROZEN"}}}

	helpdesk := person("g-helpdesk")
	vipSupporter := person("g-helpdesk", "g-vip-supporters")
	vipOnly := person("g-vip-supporters")
	usSupporter := person("g-us-supporters")
	euSupporter := person("g-eu-supporters")
	nobody := person("g-other")
	admin := Caller{Name: "admin@contoso.com", Person: true, Rights: rights(Admin)}
	credential := Caller{Name: "credential ci-bot", Rights: rights(CanRunRunbooks)}
	reader := Caller{Name: "reader", Person: true, Rights: rights(CanSeeRunbooks), Groups: []string{"g-helpdesk"}}
	scheduler := Caller{Name: "planner", Person: true, Rights: rights(CanRunRunbooks, CanEditRunbookSchedules), Groups: []string{"g-helpdesk"}}
	rightless := Caller{Name: "guest", Person: true, Rights: map[Right]bool{}, Groups: []string{"g-helpdesk"}}
	editorOnly := Caller{Name: "editor", Person: true, Rights: rights(CanEditRunbookSchedules), Groups: []string{"g-helpdesk"}}

	const reset = "rjgit-user_security_reset-mfa"
	const wipe = "rjgit-device_security_wipe"
	tests := []struct {
		name    string
		p       *Permissions
		c       Caller
		a       Action
		runbook string
		t       *Target
		allow   bool
		reason  string
	}{
		// (a) The VIP support crew.
		{"helpdesk on a normal user", vip, helpdesk, Run, reset, normalUser, true, `allowed by role "Helpdesk" (pattern "rjgit-user_*")`},
		{"helpdesk on the CEO", vip, helpdesk, Run, reset, ceo, false, `role "Helpdesk" may not run rjgit-user_* on members of "VIP users"`},
		{"VIP supporter in helpdesk on the CEO", vip, vipSupporter, Run, reset, ceo, true, `allowed by role "Helpdesk"`},
		{"helpdesk on the CEO's laptop", vip, helpdesk, Run, wipe, ceoLaptop, false, `role "Helpdesk" may not run rjgit-device_* on members of "VIP users"`},
		{"VIP supporter on the CEO's laptop", vip, vipSupporter, Run, wipe, ceoLaptop, true, `allowed by role "Helpdesk" (pattern "rjgit-device_*")`},
		{"helpdesk sees the CEO's form", vip, helpdesk, See, reset, ceo, false, `role "Helpdesk" may not see rjgit-user_* on members of "VIP users"`},
		{"restriction grants no role", vip, vipOnly, Run, reset, ceo, false, `no role of yours allows running "` + reset + `"`},
		{"empty restriction list denies", vip, vipSupporter, Run, reset, frozenUser, false, `role "Helpdesk" may not run rjgit-user_* on members of "G-FROZEN"`},
		{"helpdesk lists user runbooks", vip, helpdesk, See, reset, nil, true, `allowed by role "Helpdesk"`},
		{"helpdesk does not see org runbooks", vip, helpdesk, See, "rjgit-org_general_report", nil, false, `no role of yours allows seeing "rjgit-org_general_report"`},
		{"no role: nothing visible", vip, nobody, See, reset, nil, false, `no role of yours allows seeing`},
		{"no groups: nothing visible", vip, person(), See, reset, nil, false, `no role of yours allows seeing`},

		// (b) US supporters only manage US users.
		{"US supporter on a US user", us, usSupporter, Run, reset, usUser, true, `allowed by role "Supporters" (pattern "*")`},
		{"EU supporter on a US user", us, euSupporter, Run, reset, usUser, false, `role "Supporters" may not run * on members of "All users" and "US users"`},
		{"US supporter on a non-US user", us, usSupporter, Run, reset, normalUser, false, `role "Supporters" may not run * on members of "All users"`},
		{"EU supporter on a non-US user", us, euSupporter, Run, reset, normalUser, false, `may not run * on members of "All users"`},
		{"EU supporter lists runbooks", us, euSupporter, See, reset, nil, true, `allowed by role "Supporters"`},
		{"US supporter on an org runbook", us, usSupporter, Run, "rjgit-org_general_report", nil, true, `allowed by role "Supporters"`},

		// Tenant-wide patterns, which bind administrators and credentials too.
		{"disabled runbook", full, helpdesk, Run, "rjgit-user_legacy_reset", normalUser, false, `runbook "rjgit-user_legacy_reset" is disabled in this tenant (DisabledRunbookPatterns: "RJGIT-USER_LEGACY_*")`},
		{"disabled wins over enabled", full, admin, See, "rjgit-org_danger_wipe-all", nil, false, `is disabled in this tenant (DisabledRunbookPatterns: "rjgit-org_danger_*")`},
		{"not enabled", full, admin, Run, "device_custom_thing", nil, false, `runbook "device_custom_thing" is not enabled in this tenant`},
		{"credential and a disabled runbook", full, credential, Run, "rjgit-org_danger_wipe-all", nil, false, "is disabled in this tenant"},
		{"admin bypasses roles", full, admin, Run, "user_custom_thing", ceo, true, "allowed: administrator"},
		{"unbound credential", full, credential, Run, "rjgit-org_general_report", nil, true, "not bound to a person"},
		{"unbound credential on the CEO", full, credential, Run, reset, ceo, true, "not bound to a person"},
		{"credential bound to a helpdesk person", full, Caller{Person: true, Rights: rights(CanRunRunbooks), Groups: []string{"g-helpdesk"}}, Run, reset, ceo, false, `role "Helpdesk" may not run`},
		{"second role when the first is restricted", full, vipSupporter, Run, reset, ceo, true, `allowed by role "Helpdesk"`},
		{"another role of the caller allows", full, vipOnly, Run, reset, ceo, true, `allowed by role "VIP desk"`},
		{"wildcards in the middle", full, helpdesk, Run, "rjgit-org_x-device-y_z", nil, true, `allowed by role "Helpdesk" (pattern "*-device-*")`},
		{"case-insensitive name", full, helpdesk, Run, "RJGIT-User_Security_Reset", normalUser, true, `allowed by role "Helpdesk" (pattern "rjgit-user_*")`},
		{"case-insensitive group ids", full, person("G-HELPDESK"), Run, reset, normalUser, true, `allowed by role "Helpdesk"`},

		// No Roles: every person with the rights sees and runs everything enabled.
		{"no roles", none, nobody, Run, "anything_at_all_x", ceo, true, "define no roles"},
		{"nil document", nil, nobody, See, "anything_at_all_x", nil, true, "define no roles"},
		{"empty Roles", emptyRoles, helpdesk, See, reset, nil, false, "no role of yours allows seeing"},
		{"empty Roles, admin", emptyRoles, admin, See, reset, nil, true, "allowed: administrator"},

		// Rights come first.
		{"reader may not run", vip, reader, Run, reset, normalUser, false, "you lack the right CanRunRunbooks"},
		{"reader may see", vip, reader, See, reset, nil, true, `allowed by role "Helpdesk"`},
		{"no rights", none, rightless, See, reset, nil, false, "you lack the right CanSeeRunbooks"},
		{"run implies see", none, Caller{Person: true, Rights: rights(CanRunRunbooks)}, See, reset, nil, true, "define no roles"},
		{"no rights for a credential", none, Caller{Name: "credential x"}, Run, reset, nil, false, "you lack the right CanRunRunbooks"},
		{"schedule needs the schedule right", none, helpdesk, Schedule, "x_y_z_scheduled", nil, false, "you lack the right CanEditRunbookSchedules"},
		{"schedule needs the run right", none, editorOnly, Schedule, "x_y_z_scheduled", nil, false, "you lack the right CanRunRunbooks"},
		{"schedule needs both", none, rightless, Schedule, "x_y_z_scheduled", nil, false, "you lack the rights CanRunRunbooks and CanEditRunbookSchedules"},
		{"unknown action", none, admin, Action("delete"), reset, nil, false, `unknown action "delete"`},

		// Scheduling patterns.
		{"default scheduling pattern", vip, scheduler, Schedule, "rjgit-user_general_report_scheduled", normalUser, true, `allowed by role "Helpdesk"`},
		{"not a scheduled runbook", vip, scheduler, Schedule, "rjgit-user_general_report", normalUser, false, `runbook "rjgit-user_general_report" cannot be scheduled in this tenant (it matches none of the SchedulingEnabledRunbookPatterns: "*_scheduled")`},
		{"scheduling disabled wins", full, admin, Schedule, "rjgit-org_general_noschedule_scheduled", nil, false, `cannot be scheduled in this tenant (SchedulingDisabledRunbookPatterns: "*_noschedule*")`},
		{"custom scheduling patterns", schedule, admin, Schedule, "org_x_report", nil, true, "allowed: administrator"},
		{"custom scheduling patterns, both match", schedule, admin, Schedule, "org_x_report_scheduled", nil, false, `(SchedulingDisabledRunbookPatterns: "*_scheduled")`},
		{"scheduling restricted like running", vip, Caller{Person: true, Rights: rights(CanRunRunbooks, CanEditRunbookSchedules), Groups: []string{"g-helpdesk"}}, Schedule, "rjgit-user_x_y_scheduled", ceo, false, `role "Helpdesk" may not schedule rjgit-user_* on members of "VIP users"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, how := range []string{"Decide", "Judge"} {
				var d Decision
				if how == "Decide" {
					d = Decide(tt.p, tt.c, tt.a, tt.runbook, tt.t)
				} else {
					d = tt.p.For(tt.c).Decide(tt.a, tt.runbook, tt.t)
				}
				if d.Allow != tt.allow || !strings.Contains(d.Reason, tt.reason) {
					t.Errorf("%s: %+v, want allow=%v with reason containing %q", how, d, tt.allow, tt.reason)
				}
			}
		})
	}
}

// TestDecideWithRoles takes a caller's rights from a roles document, the
// way the server does, before asking Decide.
func TestDecideWithRoles(t *testing.T) {
	roles, err := ParseRoles([]byte(`{
		"roles": [{"name": "Helpdesk", "rights": ["CanSeeRunbooks", "CanRunRunbooks", "CanReadRunbookTable"]}],
		"assignments": [
			{"role": "Administrator", "user": "admin@contoso.com"},
			{"role": "Helpdesk", "group": "g-helpdesk"},
			{"role": "Reader", "group": "g-auditors"},
		],
	}`))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPermissions(t, vipDocument)
	caller := func(upn string, groups ...string) Caller {
		return Caller{Name: upn, Person: true, Rights: roles.RightsOf([]string{upn, "id-" + upn}, groups), Groups: groups}
	}
	ceo := &Target{Kind: "user", Groups: []GroupRef{{ID: "g-vip", Name: "VIP users"}}}
	tests := []struct {
		c      Caller
		a      Action
		t      *Target
		allow  bool
		reason string
	}{
		{caller("ADMIN@contoso.com"), Run, ceo, true, "allowed: administrator"},
		{caller("jane@contoso.com", "g-helpdesk"), Run, nil, true, `allowed by role "Helpdesk"`},
		{caller("jane@contoso.com", "g-helpdesk"), Run, ceo, false, `may not run rjgit-user_* on members of "VIP users"`},
		{caller("audrey@contoso.com", "g-auditors", "g-helpdesk"), Run, nil, true, `allowed by role "Helpdesk"`},
		{caller("audrey@contoso.com", "g-auditors"), Run, nil, false, "you lack the right CanRunRunbooks"},
		{caller("audrey@contoso.com", "g-auditors"), See, nil, false, "no role of yours allows seeing"},
		{caller("stranger@contoso.com"), See, nil, false, "you lack the right CanSeeRunbooks"},
	}
	for _, tt := range tests {
		d := Decide(p, tt.c, tt.a, "rjgit-user_security_reset-mfa", tt.t)
		if d.Allow != tt.allow || !strings.Contains(d.Reason, tt.reason) {
			t.Errorf("%s %s: %+v, want allow=%v with reason containing %q", tt.c.Name, tt.a, d, tt.allow, tt.reason)
		}
	}
}

func TestVisibleAndSchedulable(t *testing.T) {
	p := mustPermissions(t, fullDocument)
	names := []string{"rjgit-user_security_reset-mfa", "rjgit-org_general_report", "rjgit-org_danger_wipe-all", "user_custom_x", "device_custom_y"}
	got := p.Visible(person("g-helpdesk"), names)
	if strings.Join(got, ",") != "rjgit-user_security_reset-mfa" {
		t.Errorf("helpdesk sees %q", got)
	}
	got = p.Visible(Caller{Person: true, Rights: rights(Admin)}, names)
	if strings.Join(got, ",") != "rjgit-user_security_reset-mfa,rjgit-org_general_report,user_custom_x" {
		t.Errorf("admin sees %q", got)
	}
	for name, want := range map[string]bool{
		"rjgit-org_general_report_scheduled":     true,
		"RJGIT-ORG_GENERAL_REPORT_SCHEDULED":     true,
		"rjgit-org_general_report":               false,
		"rjgit-org_general_noschedule_scheduled": false,
	} {
		if got := p.Schedulable(name); got != want {
			t.Errorf("Schedulable(%q) = %v", name, got)
		}
	}
	var nilp *Permissions
	if !nilp.Schedulable("a_b_c_scheduled") || nilp.Schedulable("a_b_c") || !nilp.Enabled("x") {
		t.Error("a nil document is not the empty one")
	}
}

// benchDocument is a realistic large document: 20 roles with 50 patterns
// between them, 10 restricted target groups and tenant-wide patterns.
func benchDocument() string {
	var b strings.Builder
	b.WriteString(`{"EnabledRunbookPatterns": ["rjgit-*", "org_*", "user_*", "device_*", "group_*"],
	"DisabledRunbookPatterns": ["rjgit-org_danger_*", "*_legacy_*", "*-deprecated"],
	"Roles": {`)
	n := 0
	for r := range 20 {
		fmt.Fprintf(&b, "%q: {\"Groups\": [\"g-role-%d-a\", \"g-role-%d-b\"], \"AllowedRunbookPatterns\": [", fmt.Sprintf("Role %d", r), r, r)
		for k := range 2 + boolInt(r < 10) {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, `"rjgit-%s_cat%d_*"`, []string{"user", "device", "group", "org"}[(r+k)%4], (r*3+k)%7)
			n++
		}
		b.WriteString("]},\n")
	}
	b.WriteString(`}, "TargetEntityGroups": {`)
	for g := range 10 {
		fmt.Fprintf(&b, `"g-target-%d": {"RestrictRoles": {"Role %d": ["g-support-%d"], "Role %d": []}},`, g, g, g, g+10)
	}
	b.WriteString("}}")
	if n != 50 {
		panic(fmt.Sprintf("bench document has %d role patterns", n))
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// benchRunbooks are 200 runbook names across scopes and categories.
func benchRunbooks() []string {
	names := make([]string, 200)
	scopes := []string{"user", "device", "group", "org"}
	for i := range names {
		names[i] = fmt.Sprintf("rjgit-%s_cat%d_runbook-number-%d", scopes[i%4], i%7, i)
	}
	return names
}

func benchCaller() Caller {
	groups := make([]string, 0, 60)
	for i := range 57 {
		groups = append(groups, fmt.Sprintf("f5a1c3e2-0000-4000-8000-%012d", i))
	}
	groups = append(groups, "g-role-3-a", "g-role-12-b", "g-support-3")
	return Caller{Name: "jane@contoso.com", Person: true, Rights: rights(CanSeeRunbooks, CanRunRunbooks), Groups: groups}
}

// BenchmarkDecide is one decision with a target, as when starting a job:
// the caller's roles are worked out on every call.
func BenchmarkDecide(b *testing.B) {
	p := mustPermissions(b, benchDocument())
	c := benchCaller()
	names := benchRunbooks()
	target := &Target{Kind: "user", Groups: []GroupRef{{ID: "g-all"}, {ID: "g-target-3", Name: "Target 3"}, {ID: "g-target-12"}}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Decide(p, c, Run, names[i%len(names)], target)
		i++
	}
}

// BenchmarkVisible is listing 200 runbooks for one caller, per listing.
func BenchmarkVisible(b *testing.B) {
	p := mustPermissions(b, benchDocument())
	c := benchCaller()
	names := benchRunbooks()
	b.ReportAllocs()
	for b.Loop() {
		p.Visible(c, names)
	}
}

// BenchmarkJudgeDecide is one decision with a target for a caller whose
// standing was worked out once (Permissions.For).
func BenchmarkJudgeDecide(b *testing.B) {
	p := mustPermissions(b, benchDocument())
	j := p.For(benchCaller())
	names := benchRunbooks()
	target := &Target{Kind: "user", Groups: []GroupRef{{ID: "g-all"}, {ID: "g-target-3", Name: "Target 3"}, {ID: "g-target-12"}}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j.Decide(Run, names[i%len(names)], target)
		i++
	}
}
