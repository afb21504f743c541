package directory

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/directory/ldaptest"
)

// TestLDAPUnavailable covers a server that is down: at the start, and
// after the pool holds connections to it (it comes back on the same port).
func TestLDAPUnavailable(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Setup{LDIF: ldapTree})
	d, auth := openTestLDAP(t, s)
	ctx := context.Background()
	if _, err := d.Lookup(ctx, User, "alice"); err != nil {
		t.Fatal(err)
	}

	s.Stop()
	if _, err := d.Lookup(ctx, User, "alice"); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE ||
		!strings.Contains(runbooker.ErrorMessage(err), s.URL) {
		t.Errorf("Lookup with the server down: %v, want EUNAVAILABLE naming %s", err, s.URL)
	}
	if _, err := auth.Authenticate(ctx, "alice", "alice-pw"); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Errorf("Authenticate with the server down: %v, want EUNAVAILABLE, not a wrong password", err)
	}
	// The empty password is refused without asking the server at all.
	if _, err := auth.Authenticate(ctx, "alice", ""); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
		t.Errorf("an empty password with the server down: %v, want EUNAUTHORIZED", err)
	}

	if err := s.Start(); err != nil {
		t.Fatalf("restarting slapd on %s: %v", s.URL, err)
	}
	if o, err := d.Lookup(ctx, User, "alice"); err != nil || o.UserPrincipalName != "alice" {
		t.Errorf("after the server is back: %+v, %v", o, err)
	}
	// Kill it behind a pooled connection: the next call must dial again.
	s.Stop()
	if err := s.Start(); err != nil {
		t.Fatalf("restarting slapd on %s: %v", s.URL, err)
	}
	if groups, err := d.MemberOf(ctx, User, mustID(t, d, "alice")); err != nil || len(groups) != 4 {
		t.Errorf("after a restart behind the pool: %q, %v", groups, err)
	}

	// Closing (through the cache, as the server holds it) ends the pool.
	c, ok := Cached(d, time.Minute, nil).(io.Closer)
	if !ok {
		t.Fatal("a cached LDAP directory is no io.Closer")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Search(ctx, User, "", 1); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || !strings.Contains(runbooker.ErrorMessage(err), "closed") {
		t.Errorf("after Close: %v, want EUNAVAILABLE saying it is closed", err)
	}

	never := openLDAPConfig("ldap://127.0.0.1:" + strconv.Itoa(ldaptest.FreePort(t)))
	nd, err := Open(never, ldaptest.ReaderPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nd.Search(ctx, Group, "", 10); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Errorf("a port nobody listens on: %v, want EUNAVAILABLE", err)
	}
}

func mustID(t *testing.T, d Directory, upn string) string {
	t.Helper()
	o, err := d.Lookup(context.Background(), User, upn)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// TestLDAPServiceAccount checks that a wrong service password is reported
// as a configuration problem, not as "not found".
func TestLDAPServiceAccount(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Setup{LDIF: ldapTree})
	d, err := Open(openLDAPConfig(s.URL), "wrong")
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Lookup(context.Background(), User, "alice")
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || !strings.Contains(runbooker.ErrorMessage(err), ldaptest.ReaderDN) {
		t.Errorf("wrong service password: %v, want EUNAVAILABLE naming the bind DN", err)
	}
	// Anonymous clients may bind but read nothing here, so a directory
	// without a service account finds no one rather than failing.
	cfg := openLDAPConfig(s.URL)
	cfg.BindDN = ""
	anon, err := Open(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Lookup(context.Background(), User, "alice"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("anonymous lookup: %v, want ENOTFOUND", err)
	}
}

// TestLDAPTLS reaches slapd over ldaps:// and StartTLS with a CA of the
// test's own, and checks that certificates are verified.
func TestLDAPTLS(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Setup{LDIF: ldapTree, TLS: true})
	ctx := context.Background()
	open := func(change func(*Config)) Directory {
		t.Helper()
		cfg := openLDAPConfig(s.TLSURL)
		change(&cfg)
		d, err := Open(cfg, ldaptest.ReaderPassword)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.(*ldapDirectory).Close() })
		return d
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
	}{
		{"ldaps with the CA", func(c *Config) { c.CAFile = s.CAFile }},
		{"StartTLS with the CA", func(c *Config) { c.URL, c.StartTLS, c.CAFile = s.URL, true, s.CAFile }},
		{"ldaps without verification", func(c *Config) { c.InsecureSkipVerify = true }},
	} {
		d := open(tc.change)
		if o, err := d.Lookup(ctx, User, "alice"); err != nil || o.DisplayName != "Alice Adams" {
			t.Errorf("%s: Lookup = %+v, %v", tc.name, o, err)
		}
		auth, _ := AsAuthenticator(d)
		if _, err := auth.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Errorf("%s: Authenticate: %v", tc.name, err)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
	}{
		{"ldaps with an unknown CA", func(c *Config) {}},
		{"StartTLS with an unknown CA", func(c *Config) { c.URL, c.StartTLS = s.URL, true }},
		{"a host name the certificate does not name", func(c *Config) {
			c.URL, c.CAFile = strings.Replace(s.TLSURL, "127.0.0.1", "localhost", 1), s.CAFile
		}},
	} {
		d := open(tc.change)
		o, err := d.Lookup(ctx, User, "alice")
		if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || !strings.Contains(runbooker.ErrorMessage(err), "certificate") {
			t.Errorf("%s: Lookup = %+v, %v; want EUNAVAILABLE about the certificate", tc.name, o, err)
		}
	}
}

// manyGroups puts Carol into three more groups, one more than the size
// limit of the servers in TestLDAPSizeLimit.
const manyGroups = `
dn: cn=g1,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: g1
member: uid=carol,ou=people,dc=example,dc=test

dn: cn=g2,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: g2
member: uid=carol,ou=people,dc=example,dc=test

dn: cn=g3,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: g3
member: uid=carol,ou=people,dc=example,dc=test
`

// TestLDAPSizeLimit runs MemberOf against servers that answer at most two
// entries at a time: with paged results allowed past that (as Active
// Directory's MaxPageSize does) every group comes back; where the limit is
// hard, the answer is an error rather than a membership with groups missing.
func TestLDAPSizeLimit(t *testing.T) {
	ctx := context.Background()
	memberOf := func(limits string) ([]string, error) {
		s := ldaptest.Start(t, ldaptest.Setup{LDIF: ldapTree + manyGroups, Database: limits})
		d, _ := openTestLDAP(t, s)
		groups, err := d.Search(ctx, Group, "", 100)
		if err != nil || len(groups) != 2 {
			t.Errorf("%s: Search = %d groups, %v; want the server's two", limits, len(groups), err)
		}
		return d.MemberOf(ctx, User, mustID(t, d, "carol"))
	}
	if got, err := memberOf("sizelimit size.soft=2 size.prtotal=unlimited"); err != nil || len(got) != 4 {
		t.Errorf("paged: MemberOf(carol) = %q, %v; want staff, g1, g2 and g3", got, err)
	}
	_, err := memberOf("sizelimit 2")
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || !strings.Contains(runbooker.ErrorMessage(err), "size limit") {
		t.Errorf("hard limit: MemberOf(carol) = %v; want EUNAVAILABLE about the size limit", err)
	}
}
