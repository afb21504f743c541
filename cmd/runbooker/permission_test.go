package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// The people of the permission tests: RealmJoin's two documented examples
// in one directory. The VIP support crew: the helpdesk may not act on VIP
// users except its VIP crew. US supporters only manage US users: everyone
// is in All-Users, which denies the USSupporters role, and US-Users lets
// the US supporters use it again.
const permDirectory = `{
  "users": [
    {"id": "u-ceo", "userPrincipalName": "ceo@contoso.com", "displayName": "Chief Executive"},
    {"id": "u-jane", "userPrincipalName": "jane@contoso.com", "displayName": "Jane Doe"},
    {"id": "u-us", "userPrincipalName": "sam@us.contoso.com", "displayName": "Sam (US)"},
    {"id": "u-eu", "userPrincipalName": "eva@eu.contoso.com", "displayName": "Eva (EU)"},
    {"id": "u-help", "userPrincipalName": "help@contoso.com", "displayName": "Helpdesk"},
    {"id": "u-vipcrew", "userPrincipalName": "vipcrew@contoso.com", "displayName": "VIP crew"},
    {"id": "u-ussup", "userPrincipalName": "ussup@contoso.com", "displayName": "US supporter"},
    {"id": "u-eusup", "userPrincipalName": "eusup@contoso.com", "displayName": "EU supporter"},
    {"id": "u-reader", "userPrincipalName": "reader@contoso.com", "displayName": "Reader"}
  ],
  "groups": [
    {"id": "g-board", "displayName": "Board", "members": []},
    {"id": "g-vip", "displayName": "VIP users", "members": ["u-ceo", "g-board"]},
    {"id": "g-all", "displayName": "All-Users", "members": ["u-ceo", "u-jane", "u-us", "u-eu"]},
    {"id": "g-us", "displayName": "US-Users", "members": ["u-us"]},
    {"id": "g-helpdesk", "displayName": "Helpdesk", "members": ["u-help", "g-vipcrew"]},
    {"id": "g-vipcrew", "displayName": "VIP support crew", "members": ["u-vipcrew"]},
    {"id": "g-ussup", "displayName": "US supporters", "members": ["u-ussup"]},
    {"id": "g-eusup", "displayName": "EU supporters", "members": ["u-eusup"]}
  ],
  "devices": [
    {"id": "d-ceo", "displayName": "LAPTOP-CEO", "primaryUser": "u-ceo"},
    {"id": "d-jane", "displayName": "LAPTOP-JANE", "primaryUser": "u-jane"}
  ]
}`

const permRoles = `{
  "assignments": [
    {"role": "Runbook Runner", "group": "g-helpdesk"},
    {"role": "Runbook Runner", "group": "g-ussup"},
    {"role": "Runbook Runner", "group": "g-eusup"},
    {"role": "Reader", "user": "reader@contoso.com"},
  ]
}`

const permPermissions = `{
  // comments and trailing commas, as operators write them
  "DisabledRunbookPatterns": ["user_general_retired*"],
  "Roles": {
    "Helpdesk": {"Groups": ["g-helpdesk"], "AllowedRunbookPatterns": ["user_security_*", "device_*", "user_general_*"]},
    "USSupporters": {"Groups": ["g-ussup", "g-eusup"], "AllowedRunbookPatterns": ["user_us*"]},
  },
  "TargetEntityGroups": {
    "g-vip": {"RestrictRoles": {"Helpdesk": ["g-vipcrew"]}},
    "g-all": {"RestrictRoles": {"USSupporters": []}},
    "g-us": {"RestrictRoles": {"USSupporters": ["g-ussup"]}},
  },
}`

// permServer starts a server whose default tenant has the permission
// tests' directory, roles and permissions, five runbooks, a parked worker
// group (jobs wait there instead of running) and a local account for
// each supporter.
func permServer(t *testing.T) *server {
	dirFile := filepath.Join(t.TempDir(), "directory.json")
	if err := os.WriteFile(dirFile, []byte(permDirectory), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(c *ServeConfig) { c.Directory = "static:" + dirFile })
	ctx := context.Background()
	for key, doc := range map[string]string{rbhttp.SettingRoles: permRoles, rbhttp.SettingPermissions: permPermissions} {
		if err := s.client.PutSetting(ctx, key, []byte(doc)); err != nil {
			t.Fatalf("PUT settings/%s: %v", key, err)
		}
	}
	for _, rb := range []struct{ name, param string }{
		{"user_security_reset-mfa", "UserName"}, {"user_us_set-location", "UserName"},
		{"user_general_retired-thing", "UserName"}, {"device_general_wipe", "DeviceId"},
	} {
		s.put(rb.name, runbooker.LangBash, "#!/bin/bash\n# @param "+rb.param+" string mandatory - the target\necho done\n")
	}
	s.put("org_general_report", runbooker.LangBash, "#!/bin/bash\necho report\n")
	if _, err := s.client.CreateGroup(ctx, rbhttp.GroupView{Name: "parked"}); err != nil {
		t.Fatal(err)
	}
	for _, upn := range []string{"help@contoso.com", "vipcrew@contoso.com", "ussup@contoso.com", "eusup@contoso.com", "reader@contoso.com"} {
		if err := setLocalPassword(ctx, s.m.Store, runbooker.DefaultTenant, upn, "correct horse "+upn); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// boundCredential creates an API credential bound to a person.
func boundCredential(t *testing.T, s *server, upn string) string {
	t.Helper()
	c, err := s.client.CreateCredential(context.Background(), rbhttp.CredentialInput{Name: "as " + upn, User: upn})
	if err != nil {
		t.Fatalf("credential for %s: %v", upn, err)
	}
	return c.ID + ":" + c.Secret
}

// portalClient signs upn in and returns an HTTP client carrying the
// session cookie.
func portalClient(t *testing.T, s *server, upn string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	body := `{"userName":"` + upn + `","password":"correct horse ` + upn + `"}`
	resp, err := hc.Post(s.url+"/api/v1/auth/signin", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in of %s: %d", upn, resp.StatusCode)
	}
	return hc
}

// portalCall does a request as the browser of a signed-in person would.
func portalCall(t *testing.T, s *server, hc *http.Client, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.url)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	return resp.StatusCode, b.String()
}

// TestPermissionsEverySurface: one table of people × runbooks × targets,
// asked through the external API, the management API (batch), the CLI and
// the portal's session; every surface must answer the same, and every
// refusal must carry the decision's reason.
func TestPermissionsEverySurface(t *testing.T) {
	s := permServer(t)
	rows := []struct {
		who, runbook, param, target string
		allow                       bool
		reason                      string // in the 403's text
	}{
		// The VIP support crew.
		{"help@contoso.com", "user_security_reset-mfa", "UserName", "jane@contoso.com", true, ""},
		{"help@contoso.com", "user_security_reset-mfa", "UserName", "ceo@contoso.com", false, `role "Helpdesk" may not run user_security_* on members of "VIP users"`},
		{"help@contoso.com", "user_security_reset-mfa", "UserName", "u-ceo", false, `"VIP users"`}, // by id as well as by UPN
		{"vipcrew@contoso.com", "user_security_reset-mfa", "UserName", "ceo@contoso.com", true, ""},
		// Devices follow their primary user.
		{"help@contoso.com", "device_general_wipe", "DeviceId", "d-jane", true, ""},
		{"help@contoso.com", "device_general_wipe", "DeviceId", "LAPTOP-CEO", false, `on members of "VIP users"`},
		{"vipcrew@contoso.com", "device_general_wipe", "DeviceId", "d-ceo", true, ""},
		// US supporters only manage US users.
		{"ussup@contoso.com", "user_us_set-location", "UserName", "sam@us.contoso.com", true, ""},
		{"ussup@contoso.com", "user_us_set-location", "UserName", "eva@eu.contoso.com", false, `role "USSupporters"`},
		{"eusup@contoso.com", "user_us_set-location", "UserName", "sam@us.contoso.com", false, `role "USSupporters"`},
		{"eusup@contoso.com", "user_us_set-location", "UserName", "eva@eu.contoso.com", false, `All-Users`},
		// No role allows it; disabled wins; rights are needed at all.
		{"ussup@contoso.com", "user_security_reset-mfa", "UserName", "sam@us.contoso.com", false, "no role"},
		{"help@contoso.com", "user_general_retired-thing", "UserName", "jane@contoso.com", false, "disabled"},
		{"reader@contoso.com", "user_security_reset-mfa", "UserName", "jane@contoso.com", false, "CanRunRunbooks"},
		{"help@contoso.com", "org_general_report", "", "", false, "no role"},
	}
	ctx := context.Background()
	creds, portals := map[string]string{}, map[string]*http.Client{}
	for _, r := range rows {
		if _, ok := creds[r.who]; !ok {
			creds[r.who] = boundCredential(t, s, r.who)
			portals[r.who] = portalClient(t, s, r.who)
		}
	}
	for _, r := range rows {
		params := map[string]any{}
		var cliArgs []string
		if r.param != "" {
			params[r.param] = r.target
			cliArgs = []string{"-p", r.param + "=" + r.target}
		}
		pj, _ := json.Marshal(params)
		name := r.who + " " + r.runbook + " " + r.target
		check := func(surface string, status int, body string) {
			t.Helper()
			checkDecision(t, name+" via "+surface, r.allow, r.reason, status, body)
		}
		st, _, body := s.call("POST", "/api/external/runbook/"+r.runbook+"/start?runOn=parked", creds[r.who], string(pj))
		check("external API", st, body)
		bj, _ := json.Marshal(map[string]any{"jobs": []map[string]any{{"runbook": r.runbook, "parameters": params, "runOn": "parked"}}})
		st, _, body = s.call("POST", "/api/v1/jobs/batch", creds[r.who], string(bj))
		check("management API", st, body)
		st, body = portalCall(t, s, portals[r.who], "POST", "/api/external/runbook/"+r.runbook+"/start?runOn=parked", string(pj))
		check("portal session", st, body)
		t.Setenv("RUNBOOKER_SERVER", s.url)
		t.Setenv("RUNBOOKER_CREDENTIAL", creds[r.who])
		var out, errb strings.Builder
		code := run(ctx, append([]string{"start", r.runbook, "--run-on", "parked"}, cliArgs...), strings.NewReader(""), &out, &errb)
		cliStatus := 200
		if code != 0 {
			cliStatus = 403
			if !strings.Contains(errb.String(), "forbidden") && !strings.Contains(errb.String(), r.reason) {
				cliStatus = 500
			}
		}
		check("CLI", cliStatus, errb.String())
	}
}

// checkDecision checks one surface's answer to a request the permission
// table allows or refuses: a 2xx, or a 403 whose error gives the reason.
func checkDecision(t *testing.T, what string, allow bool, reason string, status int, body string) {
	t.Helper()
	var e struct{ Error string }
	if json.Unmarshal([]byte(body), &e) == nil && e.Error != "" {
		body = e.Error
	}
	switch {
	case allow && status/100 != 2:
		t.Errorf("%s: want allowed, got %d %s", what, status, body)
	case !allow && status != 403:
		t.Errorf("%s: want 403, got %d %s", what, status, body)
	case !allow && !strings.Contains(body, reason):
		t.Errorf("%s: the refusal %q does not give the reason %q", what, body, reason)
	}
}
