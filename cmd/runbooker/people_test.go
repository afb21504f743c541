package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// runbookNames lists the names of a GET /api/v1/runbooks-shaped answer.
func runbookNames(t *testing.T, body string) string {
	t.Helper()
	var out struct{ Runbooks []rbhttp.RunbookView }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	var names []string
	for _, r := range out.Runbooks {
		names = append(names, r.Name)
		if r.Form == nil && strings.Contains(body, `"form"`) {
			t.Errorf("%s has no form", r.Name)
		}
	}
	return strings.Join(names, ",")
}

// TestListingFollowsPermissions: operators as well as admins list the
// runbooks they may see, with their forms; a target's list holds what the
// caller may run on it; an unknown target is named.
func TestListingFollowsPermissions(t *testing.T) {
	s := permServer(t)
	help := boundCredential(t, s, "help@contoso.com")
	st, _, body := s.call("GET", "/api/v1/runbooks", help, "")
	if got := runbookNames(t, body); st != 200 || got != "device_general_wipe,user_security_reset-mfa" {
		t.Errorf("helpdesk list: %d %q", st, got)
	}
	c, err := s.client.CreateCredential(context.Background(), rbhttp.CredentialInput{Name: "ops", Role: runbooker.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	op := c.ID + ":" + c.Secret
	st, _, body = s.call("GET", "/api/v1/runbooks", op, "")
	if got := runbookNames(t, body); st != 200 || got != "device_general_wipe,org_general_report,user_security_reset-mfa,user_us_set-location" {
		t.Errorf("unbound operator list (everything but the disabled runbook): %d %q", st, got)
	}
	if st, _, body = s.call("GET", "/api/v1/runbooks/user_security_reset-mfa", op, ""); st != 200 || !strings.Contains(body, `"form"`) {
		t.Errorf("operator reading a form: %d %s", st, body)
	}
	if st, _, body = s.call("GET", "/api/v1/runbooks/user_us_set-location", help, ""); st != 403 || !strings.Contains(body, "no role") {
		t.Errorf("helpdesk reading a runbook no role of theirs allows: %d %s", st, body)
	}
	if st, _, body = s.call("PUT", "/api/v1/settings/permissions", op, "{}"); st != 403 || !strings.Contains(body, "Admin") {
		t.Errorf("operator changing permissions: %d %s", st, body)
	}
	for target, want := range map[string]string{"ceo@contoso.com": "", "jane@contoso.com": "user_security_reset-mfa", "u-jane": "user_security_reset-mfa"} {
		st, _, body := s.call("GET", "/api/v1/targets/user/"+url.PathEscape(target)+"/runbooks", help, "")
		if got := runbookNames(t, body); st != 200 || got != want {
			t.Errorf("helpdesk on %s: %d %q, want %q", target, st, got, want)
		}
	}
	vip := boundCredential(t, s, "vipcrew@contoso.com")
	if st, _, body := s.call("GET", "/api/v1/targets/user/ceo@contoso.com/runbooks", vip, ""); runbookNames(t, body) != "user_security_reset-mfa" {
		t.Errorf("VIP crew on the CEO: %d %s", st, body)
	}
	if st, _, body := s.call("GET", "/api/v1/targets/device/LAPTOP-CEO/runbooks", help, ""); st != 200 || runbookNames(t, body) != "" {
		t.Errorf("helpdesk on the CEO's laptop: %d %s", st, body)
	}
	if st, _, body := s.call("GET", "/api/v1/targets/user/nobody@contoso.com/runbooks", help, ""); st != 404 || !strings.Contains(body, "nobody@contoso.com") {
		t.Errorf("unknown target: %d %s", st, body)
	}
	// Every parameter that may name the target is judged, not only the first.
	s.put("user_security_both", runbooker.LangBash, "#!/bin/bash\n# @param UserName string\n# @param UserId string\necho ok\n")
	st, _, body = s.call("POST", "/api/external/runbook/user_security_both/start?runOn=parked", help, `{"UserName":"jane@contoso.com","UserId":"u-ceo"}`)
	if st != 403 || !strings.Contains(body, "VIP users") {
		t.Errorf("a harmless UserName next to a protected UserId: %d %s", st, body)
	}
	st, _, body = s.call("POST", "/api/external/runbook/user_security_reset-mfa/start?runOn=parked", help, `{"UserName":"nobody@contoso.com"}`)
	if st != 400 || !strings.Contains(body, "UserName") || !strings.Contains(body, "nobody@contoso.com") {
		t.Errorf("start on an unknown target: %d %s", st, body)
	}
}

// TestPermissionChangeAppliesAtOnce: a PUT of the permissions document is
// judged by on the very next request, with no restart.
func TestPermissionChangeAppliesAtOnce(t *testing.T) {
	s := permServer(t)
	help := boundCredential(t, s, "help@contoso.com")
	start := func() (int, string) {
		st, _, body := s.call("POST", "/api/external/runbook/user_security_reset-mfa/start?runOn=parked", help, `{"UserName":"jane@contoso.com"}`)
		return st, body
	}
	if st, body := start(); st != 200 {
		t.Fatalf("before: %d %s", st, body)
	}
	if err := s.client.PutSetting(context.Background(), rbhttp.SettingPermissions, []byte(`{"DisabledRunbookPatterns": ["user_security_*"]}`)); err != nil {
		t.Fatal(err)
	}
	if st, body := start(); st != 403 || !strings.Contains(body, "disabled") {
		t.Errorf("after disabling: %d %s", st, body)
	}
	st, _, body := s.call("PUT", "/api/v1/settings/permissions", s.cred, `{"Roles": {"X": {"Groups": 5}}}`)
	if st != 400 || !strings.Contains(body, "Groups") {
		t.Errorf("a broken permissions document: %d %s", st, body)
	}
	st, _, body = s.call("PUT", "/api/v1/settings/roles", s.cred, `{"assignments": [{"role": "Wizard", "user": "x@y"}]}`)
	if st != 400 || !strings.Contains(body, "Wizard") {
		t.Errorf("a roles document naming an unknown role: %d %s", st, body)
	}
}

// TestJobsVisibleAsTheirTargets: a supporter reads the jobs of runbooks and
// targets they may act on, and no others, one by one and in the list.
func TestJobsVisibleAsTheirTargets(t *testing.T) {
	s := permServer(t)
	var ids []string
	for _, target := range []string{"jane@contoso.com", "ceo@contoso.com"} {
		st, _, body := s.call("POST", "/api/external/runbook/user_security_reset-mfa/start?runOn=parked", s.cred, `{"UserName":"`+target+`"}`)
		if st != 200 {
			t.Fatalf("admin start on %s: %d %s", target, st, body)
		}
		var r rbhttp.RunResponse
		_ = json.Unmarshal([]byte(body), &r)
		ids = append(ids, r.JobID)
	}
	j, err := s.client.Job(context.Background(), ids[1])
	if err != nil || j.Target == nil || j.Target.ID != "u-ceo" || j.Target.Kind != "user" {
		t.Fatalf("the CEO job's target: %+v %v", j, err)
	}
	help := boundCredential(t, s, "help@contoso.com")
	if st, _, body := s.call("GET", "/api/v1/jobs/"+ids[0], help, ""); st != 200 {
		t.Errorf("helpdesk reading Jane's job: %d %s", st, body)
	}
	if st, _, body := s.call("GET", "/api/external/runbook/jobs/"+ids[1]+"/status", help, ""); st != 403 || !strings.Contains(body, "VIP users") {
		t.Errorf("helpdesk reading the CEO's job: %d %s", st, body)
	}
	if st, _, body := s.call("POST", "/api/v1/jobs/"+ids[1]+"/stop", help, ""); st != 403 {
		t.Errorf("helpdesk stopping the CEO's job: %d %s", st, body)
	}
	st, _, body := s.call("GET", "/api/v1/jobs", help, "")
	if st != 200 || !strings.Contains(body, ids[0]) || strings.Contains(body, ids[1]) {
		t.Errorf("helpdesk's job list: %d %s", st, body)
	}
	reader := boundCredential(t, s, "reader@contoso.com")
	if st, _, body := s.call("POST", "/api/v1/jobs/"+ids[0]+"/stop", reader, ""); st != 403 || !strings.Contains(body, "CanRunRunbooks") {
		t.Errorf("a reader stopping a job: %d %s", st, body)
	}
}

// TestSessions: sign-in, who am I, the idle and absolute limits, sign-out,
// refusals of bad passwords and of cross-site requests.
func TestSessions(t *testing.T) {
	s := permServer(t)
	hc := portalClient(t, s, "help@contoso.com")
	st, body := portalCall(t, s, hc, "GET", "/api/v1/me", "")
	var me rbhttp.MeView
	_ = json.Unmarshal([]byte(body), &me)
	if st != 200 || me.UPN != "help@contoso.com" || me.Kind != "person" || me.Method != "local" || !strings.Contains(strings.Join(me.Groups, ","), "g-helpdesk") {
		t.Errorf("me: %d %s", st, body)
	}
	if !strings.Contains(body, "CanRunRunbooks") || strings.Contains(body, `"Admin"`) {
		t.Errorf("helpdesk rights: %s", body)
	}
	// A request from another site's page is refused though the cookie is sent.
	req, _ := http.NewRequest("POST", s.url+"/api/external/runbook/user_security_reset-mfa/start?runOn=parked", strings.NewReader(`{"UserName":"jane@contoso.com"}`))
	req.Header.Set("Origin", "https://evil.example")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-site POST with the session cookie: %d", resp.StatusCode)
	}
	// Idle too long: the session ends.
	s.clock.Advance(31 * time.Minute)
	if st, body := portalCall(t, s, hc, "GET", "/api/v1/me", ""); st != 401 || !strings.Contains(body, "sign in again") {
		t.Errorf("after 31 idle minutes: %d %s", st, body)
	}
	// Used regularly, it still ends at the absolute limit.
	hc = portalClient(t, s, "help@contoso.com")
	for i := 0; i < 25; i++ {
		s.clock.Advance(29 * time.Minute)
		if st, _ := portalCall(t, s, hc, "GET", "/api/v1/me", ""); st != 200 {
			if i < 24 {
				t.Fatalf("session ended after %d×29 minutes", i+1)
			}
		}
	}
	if st, _ := portalCall(t, s, hc, "GET", "/api/v1/me", ""); st != 401 {
		t.Errorf("past the 12 h absolute limit: %d", st)
	}
	hc = portalClient(t, s, "help@contoso.com")
	if st, _ := portalCall(t, s, hc, "POST", "/api/v1/auth/signout", ""); st != 204 {
		t.Errorf("sign-out: %d", st)
	}
	if st, _ := portalCall(t, s, hc, "GET", "/api/v1/me", ""); st != 401 {
		t.Errorf("after sign-out: %d", st)
	}
	st, _, body = s.call("POST", "/api/v1/auth/signin", "", `{"userName":"help@contoso.com","password":"wrong password"}`)
	if st != 401 || !strings.Contains(body, "invalid user name or password") {
		t.Errorf("wrong password: %d %s", st, body)
	}
	st, _, body = s.call("POST", "/api/v1/auth/signin", "", `{"userName":"nobody@contoso.com","password":"wrong password"}`)
	if st != 401 || !strings.Contains(body, "invalid user name or password") {
		t.Errorf("unknown user: %d %s", st, body)
	}
	// Disabling the account ends its sessions.
	hc = portalClient(t, s, "help@contoso.com")
	if st, _, body := s.call("PUT", "/api/v1/users/help@contoso.com", s.cred, `{"disabled": true}`); st != 200 {
		t.Fatalf("disable: %d %s", st, body)
	}
	if st, _ := portalCall(t, s, hc, "GET", "/api/v1/me", ""); st != 401 {
		t.Errorf("a disabled account's session: %d", st)
	}
	st, _, _ = s.call("POST", "/api/v1/auth/signin", "", `{"userName":"help@contoso.com","password":"correct horse help@contoso.com"}`)
	if st != 401 {
		t.Errorf("a disabled account signing in: %d", st)
	}
}

// TestAuditRecordsWhoDidWhat: job starts (with secrets masked), refusals,
// changes and sign-ins land in the tenant's audit log, and the chain holds.
func TestAuditRecordsWhoDidWhat(t *testing.T) {
	s := permServer(t)
	help := boundCredential(t, s, "help@contoso.com")
	s.put("user_security_set-password", runbooker.LangBash, "#!/bin/bash\n# @param UserName string mandatory\n# @param NewPassword string mandatory\necho ok\n")
	st, _, body := s.call("POST", "/api/external/runbook/user_security_set-password/start?runOn=parked", help, `{"UserName":"jane@contoso.com","NewPassword":"Sup3r-Secret!"}`)
	if st != 200 {
		t.Fatalf("start: %d %s", st, body)
	}
	s.call("POST", "/api/external/runbook/user_security_reset-mfa/start?runOn=parked", help, `{"UserName":"ceo@contoso.com"}`)
	// A synchronous run's entry is written while the job runs, and is in
	// the log by the time the answer is (read below without waiting).
	st, _, body = s.call("POST", "/api/external/runbook/org_general_report/run", s.cred, "")
	if st != 200 || !strings.Contains(body, `"Completed"`) {
		t.Fatalf("run: %d %s", st, body)
	}
	s.call("POST", "/api/v1/auth/signin", "", `{"userName":"help@contoso.com","password":"not it at all"}`)
	portalClient(t, s, "vipcrew@contoso.com")
	page, err := s.client.Audit(context.Background(), runbooker.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range page.Entries {
		lines = append(lines, e.Action+" "+e.Actor+" "+e.Surface+" "+e.Object+" "+string(e.Detail))
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"setting.put tester api roles", "setting.put tester api permissions",
		"runbook.put tester api user_security_reset-mfa", "group.create tester api",
		"job.start help@contoso.com (credential as help@contoso.com) external user_security_set-password",
		"job.start tester external org_general_report",
		"job.start.denied help@contoso.com (credential as help@contoso.com) external user_security_reset-mfa",
		"signin.failure help@contoso.com portal", "signin.success vipcrew@contoso.com portal",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Sup3r-Secret!") {
		t.Errorf("a password parameter reached the audit log:\n%s", all)
	}
	if !strings.Contains(all, `"target":{"kind":"user","id":"u-jane"`) {
		t.Errorf("the job start does not name its target:\n%s", all)
	}
	if err := runbooker.VerifyAuditChain(nil, page.Entries); err != nil {
		t.Errorf("the chain as the API serves it: %v", err)
	}
	// Readers of the log are administrators.
	if st, _, _ := s.call("GET", "/api/v1/audit", help, ""); st != 403 {
		t.Errorf("helpdesk reading the audit log: %d", st)
	}
}

// TestTenantDirectorySetting: a tenant picks its own directory through the
// settings API: inline static objects work at once; a path on the server is
// refused; an LDAP server on a loopback address is never dialled.
func TestTenantDirectorySetting(t *testing.T) {
	s := startServer(t)
	st, _, body := s.call("GET", "/api/v1/directory/users", s.cred, "")
	if st != 404 || !strings.Contains(body, "no directory") {
		t.Errorf("no directory yet: %d %s", st, body)
	}
	doc := `{"provider": "static", "objects": {"users": [{"id": "u1", "userPrincipalName": "ceo@fabrikam.com", "displayName": "CEO"}]}}`
	if st, _, body := s.call("PUT", "/api/v1/settings/directory", s.cred, doc); st != 204 {
		t.Fatalf("PUT directory: %d %s", st, body)
	}
	if st, _, body := s.call("GET", "/api/v1/directory/users?search=fabrikam", s.cred, ""); st != 200 || !strings.Contains(body, `"id":"u1"`) {
		t.Errorf("search after the PUT: %d %s", st, body)
	}
	if st, _, body := s.call("PUT", "/api/v1/settings/directory", s.cred, `{"provider": "static", "path": "/etc/passwd"}`); st != 400 {
		t.Errorf("a static directory read from the server's disk: %d %s", st, body)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	doc = `{"provider": "ldap", "url": "ldap://` + ln.Addr().String() + `", "baseDN": "dc=x", "userFilter": "(objectClass=person)"}`
	if st, _, body := s.call("PUT", "/api/v1/settings/directory", s.cred, doc); st != 204 {
		t.Fatalf("PUT an ldap directory: %d %s", st, body)
	}
	if st, _, body := s.call("GET", "/api/v1/directory/users/u1", s.cred, ""); st != 503 {
		t.Errorf("an ldap directory on loopback: %d %s", st, body)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the server connected to a loopback LDAP server %d times", n)
	}
}

// TestRolesView: GET /api/v1/roles lists the built-in and custom roles
// with their rights, and the assignments.
func TestRolesView(t *testing.T) {
	s := permServer(t)
	doc := `{"roles": [{"name": "Lead", "rights": ["CanRunRunbooks", "CanSyncRunbooksWithUpstream"]}],
	  "assignments": [{"role": "Lead", "group": "g-helpdesk"}]}`
	if err := s.client.PutSetting(context.Background(), rbhttp.SettingRoles, []byte(doc)); err != nil {
		t.Fatal(err)
	}
	st, _, body := s.call("GET", "/api/v1/roles", s.cred, "")
	var v rbhttp.RolesView
	if err := json.Unmarshal([]byte(body), &v); err != nil || st != 200 {
		t.Fatalf("%d %s %v", st, body, err)
	}
	var names []string
	for _, r := range v.Roles {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "Administrator,Runbook Runner,Reader,Lead" || len(v.Assignments) != 1 || v.Assignments[0].Group != "g-helpdesk" {
		t.Errorf("roles view: %s", body)
	}
	if !strings.Contains(body, `"CanSyncRunbooksWithUpstream"`) {
		t.Errorf("the custom role's rights are missing: %s", body)
	}
}
