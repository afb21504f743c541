package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/directory/ldaptest"
	rbhttp "github.com/runbooker/runbooker/http"
)

// ldapPeople is the organisation of the LDAP end-to-end test, the VIP
// example of permDirectory in an OpenLDAP tree: the Board is a group
// inside "VIP users", the VIP support crew a group inside Helpdesk, and
// LAPTOP-CHAIR belongs to a Board member. Ids are uid values (groups and
// devices carry one through the uidObject class), people sign in with
// their mail address, and every password is "correct horse <mail>", so
// that portalClient signs LDAP people in as it does local ones.
const ldapPeople = ldaptest.Root + `
dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: uid=u-help,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: u-help
cn: Harry Help
sn: Help
mail: help@contoso.com
userPassword: correct horse help@contoso.com

dn: uid=u-vipcrew,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: u-vipcrew
cn: Vera Crew
sn: Crew
mail: vipcrew@contoso.com
userPassword: correct horse vipcrew@contoso.com

dn: uid=u-jane,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: u-jane
cn: Jane Doe
sn: Doe
mail: jane@contoso.com
userPassword: correct horse jane@contoso.com

dn: uid=u-ceo,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: u-ceo
cn: Chief Executive
sn: Executive
mail: ceo@contoso.com
userPassword: correct horse ceo@contoso.com

dn: uid=u-chair,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: u-chair
cn: Chair of the Board
sn: Chair
mail: chair@contoso.com
userPassword: correct horse chair@contoso.com

dn: ou=groups,dc=example,dc=test
objectClass: organizationalUnit
ou: groups

dn: cn=VIP users,ou=groups,dc=example,dc=test
objectClass: groupOfNames
objectClass: uidObject
uid: g-vip
cn: VIP users
member: uid=u-ceo,ou=people,dc=example,dc=test
member: cn=Board,ou=groups,dc=example,dc=test

dn: cn=Board,ou=groups,dc=example,dc=test
objectClass: groupOfNames
objectClass: uidObject
uid: g-board
cn: Board
member: uid=u-chair,ou=people,dc=example,dc=test

dn: cn=Helpdesk,ou=groups,dc=example,dc=test
objectClass: groupOfNames
objectClass: uidObject
uid: g-helpdesk
cn: Helpdesk
member: uid=u-help,ou=people,dc=example,dc=test
member: cn=VIP support crew,ou=groups,dc=example,dc=test

dn: cn=VIP support crew,ou=groups,dc=example,dc=test
objectClass: groupOfNames
objectClass: uidObject
uid: g-vipcrew
cn: VIP support crew
member: uid=u-vipcrew,ou=people,dc=example,dc=test

dn: ou=devices,dc=example,dc=test
objectClass: organizationalUnit
ou: devices

dn: cn=LAPTOP-CHAIR,ou=devices,dc=example,dc=test
objectClass: device
objectClass: uidObject
uid: d-chair
cn: LAPTOP-CHAIR
owner: uid=u-chair,ou=people,dc=example,dc=test
`

// ldapDirectoryConfig is the --directory-config file: everything but the
// URL, which the --directory spec gives (its "url" here must lose).
const ldapDirectoryConfig = `{
  "url": "ldap://the-spec-wins.invalid",
  "baseDN": "` + ldaptest.Base + `",
  "bindDN": "` + ldaptest.ReaderDN + `",
  "userFilter": "(objectClass=inetOrgPerson)",
  "groupFilter": "(objectClass=groupOfNames)",
  "deviceFilter": "(objectClass=device)",
  "attributes": {"id": "uid", "userPrincipalName": "mail", "primaryUser": "owner"}
}`

// ldapServer starts slapd on ldapPeople and a server whose directory is
// that slapd, given as an operator would: --directory ldap:URL, the rest
// in --directory-config, the bind password in --directory-secret-file.
// The default tenant's roles and permissions name LDAP group ids; it has
// two runbooks and the parked worker group. No local user exists.
func ldapServer(t *testing.T) *server {
	ld := ldaptest.Start(t, ldaptest.Setup{LDIF: ldapPeople})
	dir := t.TempDir()
	configFile, secretFile := filepath.Join(dir, "directory.json"), filepath.Join(dir, "directory.secret")
	if err := os.WriteFile(configFile, []byte(ldapDirectoryConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(ldaptest.ReaderPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUNBOOKER_DIRECTORY_SECRET", "") // the file must be what counts
	s := startServer(t, func(c *ServeConfig) {
		c.Directory = "ldap:" + ld.URL
		c.People.DirectoryConfigFile = configFile
		c.People.DirectorySecretFile = secretFile
	})
	for key, doc := range map[string]string{
		rbhttp.SettingRoles: `{"assignments": [{"role": "Runbook Runner", "group": "g-helpdesk"}]}`,
		rbhttp.SettingPermissions: `{
		  "Roles": {"Helpdesk": {"Groups": ["g-helpdesk"], "AllowedRunbookPatterns": ["user_security_*", "device_*"]}},
		  "TargetEntityGroups": {"g-vip": {"RestrictRoles": {"Helpdesk": ["g-vipcrew"]}}}
		}`,
	} {
		if st, _, body := s.call("PUT", "/api/v1/settings/"+key, s.cred, doc); st/100 != 2 {
			t.Fatalf("PUT settings/%s: %d %s", key, st, body)
		}
	}
	s.put("user_security_reset-mfa", runbooker.LangBash, "#!/bin/bash\n# @param UserName string mandatory - the target\necho done\n")
	s.put("device_general_wipe", runbooker.LangBash, "#!/bin/bash\n# @param DeviceId string mandatory - the target\necho done\n")
	if _, err := s.client.CreateGroup(context.Background(), rbhttp.GroupView{Name: "parked"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLDAPSignInAndPermissions: people of an LDAP directory (the server's
// --directory, on loopback, which only tenants' own directories may not
// use) sign in with their directory password, carry their nested groups,
// and are judged by the roles and permissions that name those groups, in
// the portal and through API credentials bound to them.
func TestLDAPSignInAndPermissions(t *testing.T) {
	s := ldapServer(t)
	ctx := context.Background()

	t.Run("sign-in binds to LDAP", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		resp, err := hc.Post(s.url+"/api/v1/auth/signin", "application/json",
			strings.NewReader(`{"userName": "vipcrew@contoso.com", "password": "correct horse vipcrew@contoso.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		var signin rbhttp.MeView
		err = json.NewDecoder(resp.Body).Decode(&signin)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("sign-in: %d %v", resp.StatusCode, err)
		}
		st, body := portalCall(t, s, hc, "GET", "/api/v1/me", "")
		var me rbhttp.MeView
		if err := json.Unmarshal([]byte(body), &me); st != 200 || err != nil {
			t.Fatalf("me: %d %s", st, body)
		}
		for _, v := range []rbhttp.MeView{signin, me} {
			groups := slices.Sorted(slices.Values(v.Groups))
			if v.Kind != "person" || v.Method != "ldap" || v.UPN != "vipcrew@contoso.com" || v.DisplayName != "Vera Crew" ||
				!slices.Equal(groups, []string{"g-helpdesk", "g-vipcrew"}) || !slices.Contains(v.Rights, "CanRunRunbooks") {
				t.Errorf("me = %+v; want an ldap sign-in in g-vipcrew and, through it, g-helpdesk (Runbook Runner)", v)
			}
		}
		if _, err := s.m.Store.User(ctx, runbooker.DefaultTenant, "vipcrew@contoso.com"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			t.Errorf("a local user after an LDAP sign-in: %v", err)
		}
		// A member of the Board is in VIP users too, and has no role.
		st, body = portalCall(t, s, portalClient(t, s, "chair@contoso.com"), "GET", "/api/v1/me", "")
		_ = json.Unmarshal([]byte(body), &me)
		if groups := slices.Sorted(slices.Values(me.Groups)); st != 200 || me.Method != "ldap" ||
			!slices.Equal(groups, []string{"g-board", "g-vip"}) || slices.Contains(me.Rights, "CanRunRunbooks") {
			t.Errorf("the chair's me: %d %s", st, body)
		}
	})

	t.Run("wrong password is audited", func(t *testing.T) {
		for _, in := range []string{
			`{"userName": "help@contoso.com", "password": "correct horse vipcrew@contoso.com"}`,
			`{"userName": "nobody@contoso.com", "password": "correct horse nobody@contoso.com"}`,
		} {
			st, _, body := s.call("POST", "/api/v1/auth/signin", "", in)
			if st != 401 || !strings.Contains(body, "invalid user name or password") {
				t.Errorf("sign-in %s: %d %s; want 401 invalid user name or password", in, st, body)
			}
		}
		portalClient(t, s, "jane@contoso.com")
		st, _, body := s.call("GET", "/api/v1/audit", s.cred, "")
		var page rbhttp.AuditPage
		if err := json.Unmarshal([]byte(body), &page); st != 200 || err != nil {
			t.Fatalf("audit: %d %s", st, body)
		}
		var lines []string
		for _, e := range page.Entries {
			lines = append(lines, e.Action+" "+e.Actor+" "+e.Surface+" "+e.Object+" "+string(e.Detail))
		}
		all := strings.Join(lines, "\n")
		for _, want := range []string{
			`signin.success jane@contoso.com portal jane@contoso.com {"method":"ldap"}`,
			"signin.failure help@contoso.com portal help@contoso.com",
			"signin.failure nobody@contoso.com portal nobody@contoso.com",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("the audit log lacks %q:\n%s", want, all)
			}
		}
	})

	t.Run("permissions follow LDAP groups", func(t *testing.T) {
		const vip = `role "Helpdesk" may not run user_security_* on members of "VIP users"`
		const mfa, wipe = "user_security_reset-mfa", "device_general_wipe"
		rows := []struct {
			who, runbook, target string
			allow                bool
			reason               string // in the 403's text
		}{
			{"help@contoso.com", mfa, "jane@contoso.com", true, ""},
			{"help@contoso.com", mfa, "ceo@contoso.com", false, vip},
			{"help@contoso.com", mfa, "chair@contoso.com", false, vip}, // through the Board
			{"help@contoso.com", mfa, "u-chair", false, `"VIP users"`},
			{"help@contoso.com", wipe, "LAPTOP-CHAIR", false, `on members of "VIP users"`}, // the chair's
			{"vipcrew@contoso.com", mfa, "chair@contoso.com", true, ""},
			{"vipcrew@contoso.com", wipe, "d-chair", true, ""},
		}
		portals, creds := map[string]*http.Client{}, map[string]string{}
		for _, r := range rows {
			if portals[r.who] == nil {
				portals[r.who] = portalClient(t, s, r.who)
				creds[r.who] = boundCredential(t, s, r.who)
			}
		}
		for _, r := range rows {
			name := r.who + " " + r.runbook + " " + r.target
			check := func(surface string, status int, body string) {
				t.Helper()
				checkDecision(t, name+" via "+surface, r.allow, r.reason, status, body)
			}
			kind, param := "user", "UserName"
			if r.runbook == wipe {
				kind, param = "device", "DeviceId"
			}
			params, _ := json.Marshal(map[string]string{param: r.target})
			start := "/api/external/runbook/" + r.runbook + "/start?runOn=parked"
			st, body := portalCall(t, s, portals[r.who], "POST", start, string(params))
			check("portal session", st, body)
			st, _, body = s.call("POST", start, creds[r.who], string(params))
			check("bound credential", st, body)

			st, body = portalCall(t, s, portals[r.who], "GET", "/api/v1/targets/"+kind+"/"+url.PathEscape(r.target)+"/runbooks", "")
			if listed := strings.Contains(","+runbookNames(t, body)+",", ","+r.runbook+","); st != 200 || listed != r.allow {
				t.Errorf("%s: the target's runbooks (%d %s) disagree with the start (allowed: %v)", name, st, body, r.allow)
			}
		}
	})
}
