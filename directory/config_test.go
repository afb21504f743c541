package directory

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Config
		err  string // part of the message; "" means success
	}{
		{spec: "static:/etc/runbooker/directory.json", want: Config{Provider: "static", Path: "/etc/runbooker/directory.json"}},
		{spec: "static:C:relative.json", want: Config{Provider: "static", Path: "C:relative.json"}},
		{spec: "ldap:ldap://dc1.example.com", want: Config{Provider: "ldap", URL: "ldap://dc1.example.com"}},
		{spec: "ldap:ldaps://dc1.example.com:636", want: Config{Provider: "ldap", URL: "ldaps://dc1.example.com:636"}},
		{spec: "msgraph", want: Config{Provider: "msgraph"}},
		{spec: "", err: "empty"},
		{spec: "static", err: "needs a file path"},
		{spec: "static:", err: "needs a file path"},
		{spec: "ldap", err: "needs a server URL"},
		{spec: "ldap:dc1.example.com", err: "must start with ldap:// or ldaps://"},
		{spec: "ldap:http://dc1.example.com", err: "must start with ldap:// or ldaps://"},
		{spec: "ldap:ldap://", err: "names no host"},
		{spec: "ldap:ldap://dc1/dc=example,dc=com", err: "base DN"},
		{spec: "ldap:ldap://user:pw@dc1", err: "only scheme, host and port"},
		{spec: "msgraph:contoso", err: "takes nothing after it"},
		{spec: "ldaps://dc1.example.com", err: `unknown provider "ldaps"`},
		{spec: "LDAP:ldap://x", err: `unknown provider "LDAP"`},
		{spec: "entra", err: `unknown provider "entra"`},
	} {
		got, err := ParseSpec(tc.spec)
		if tc.err == "" {
			if err != nil {
				t.Errorf("ParseSpec(%q): %v", tc.spec, err)
			} else if got.Provider != tc.want.Provider || got.Path != tc.want.Path || got.URL != tc.want.URL {
				t.Errorf("ParseSpec(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
			continue
		}
		if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), tc.err) {
			t.Errorf("ParseSpec(%q) error = %v, want EINVALID with %q", tc.spec, err, tc.err)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"static:/tmp/x.json", "ldap:ldaps://dc:636", "ldap:ldap://[::1]:389", "msgraph", "msgraph:", "", ":", "ldap:ldap://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		cfg, err := ParseSpec(spec)
		if err != nil {
			if runbooker.ErrorCode(err) != runbooker.EINVALID || runbooker.ErrorMessage(err) == "" {
				t.Fatalf("ParseSpec(%q) = %v, want an EINVALID with a message", spec, err)
			}
			return
		}
		switch cfg.Provider {
		case ProviderStatic:
			if cfg.Path == "" || !strings.HasSuffix(spec, cfg.Path) {
				t.Fatalf("ParseSpec(%q) path %q", spec, cfg.Path)
			}
		case ProviderLDAP:
			if err := validateLDAPURL(cfg.URL); err != nil {
				t.Fatalf("ParseSpec(%q) accepted URL %q that does not validate: %v", spec, cfg.URL, err)
			}
			cfg.BaseDN = "dc=example,dc=test"
			if err := cfg.Validate(); err != nil {
				t.Fatalf("ParseSpec(%q) then a base DN does not validate: %v", spec, err)
			}
		case ProviderMSGraph:
			if spec != "msgraph" {
				t.Fatalf("ParseSpec(%q) gave msgraph", spec)
			}
		default:
			t.Fatalf("ParseSpec(%q) gave provider %q", spec, cfg.Provider)
		}
	})
}

func TestValidate(t *testing.T) {
	ldapOK := Config{Provider: "ldap", URL: "ldap://dc1.example.com", BaseDN: "dc=example,dc=com"}
	graphOK := Config{Provider: "msgraph", TenantID: "contoso.onmicrosoft.com", ClientID: "app"}
	with := func(c Config, change func(*Config)) Config { change(&c); return c }
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"static inline", Config{Provider: "static", Objects: json.RawMessage(staticDoc)}, ""},
		{"static file", Config{Provider: "static", Path: "/x.json"}, ""},
		{"ldap", ldapOK, ""},
		{"ldap openldap", with(ldapOK, func(c *Config) {
			c.UserFilter, c.Attributes = "(objectClass=inetOrgPerson)", Attributes{ID: "entryUUID", UserPrincipalName: "uid"}
		}), ""},
		{"msgraph", graphOK, ""},
		{"no provider", Config{}, "no provider"},
		{"unknown provider", Config{Provider: "okta"}, `unknown provider "okta"`},
		{"static nothing", Config{Provider: "static"}, "needs a document"},
		{"static both", Config{Provider: "static", Path: "/x", Objects: json.RawMessage(`{}`)}, "not both"},
		{"static bad document", Config{Provider: "static", Objects: json.RawMessage(`{"groups": [{"id": "g", "members": ["nobody"]}]}`)}, `"nobody"`},
		{"ldap bad url", with(ldapOK, func(c *Config) { c.URL = "dc1:389" }), "ldap:// or ldaps://"},
		{"ldap no base", with(ldapOK, func(c *Config) { c.BaseDN = "" }), "baseDN"},
		{"ldap bad base", with(ldapOK, func(c *Config) { c.BaseDN = "example.com" }), `baseDN "example.com"`},
		{"ldap bad bind DN", with(ldapOK, func(c *Config) { c.BindDN = "admin" }), `bindDN "admin"`},
		{"ldaps with StartTLS", with(ldapOK, func(c *Config) { c.URL, c.StartTLS = "ldaps://dc1", true }), "already TLS"},
		{"ldap bad filter", with(ldapOK, func(c *Config) { c.GroupFilter = "objectClass=group" }), "groupFilter"},
		{"ldap attribute injection", with(ldapOK, func(c *Config) { c.Attributes.Mail = "mail=*)(cn" }), "attributes.mail"},
		{"msgraph no tenant", with(graphOK, func(c *Config) { c.TenantID = "" }), "tenantId"},
		{"msgraph bad tenant", with(graphOK, func(c *Config) { c.TenantID = "../common" }), "tenantId"},
		{"msgraph no client", with(graphOK, func(c *Config) { c.ClientID = " " }), "clientId"},
		{"msgraph http", with(graphOK, func(c *Config) { c.GraphURL = "http://graph.example" }), "graphURL"},
		{"msgraph token http", with(graphOK, func(c *Config) { c.TokenURL = "http://login.example/token" }), "tokenURL"},
	} {
		err := tc.cfg.Validate()
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), tc.err) {
			t.Errorf("%s: error = %v, want EINVALID with %q", tc.name, err, tc.err)
		}
	}
}

// TestConfigJSON checks the settings document's field names and that a
// path cannot come from a tenant's settings.
func TestConfigJSON(t *testing.T) {
	var c Config
	doc := `{"provider": "ldap", "url": "ldaps://dc1", "startTLS": false, "baseDN": "dc=x", "bindDN": "cn=svc,dc=x",
		"userFilter": "(uid=*)", "groupFilter": "(objectClass=groupOfNames)", "deviceFilter": "(objectClass=device)",
		"activeDirectory": true, "attributes": {"id": "entryUUID", "userPrincipalName": "uid", "primaryUser": "owner"},
		"caFile": "/ca.pem", "insecureSkipVerify": true, "tenantId": "t", "clientId": "c", "path": "/etc/shadow"}`
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if c.URL != "ldaps://dc1" || c.BindDN != "cn=svc,dc=x" || c.DeviceFilter != "(objectClass=device)" || !c.ActiveDirectory ||
		c.Attributes.ID != "entryUUID" || c.Attributes.PrimaryUser != "owner" || c.CAFile != "/ca.pem" || !c.InsecureSkipVerify ||
		c.TenantID != "t" || c.ClientID != "c" {
		t.Errorf("decoded %+v", c)
	}
	if c.Path != "" {
		t.Errorf("a settings document set the server path %q", c.Path)
	}
	d := c.withDefaults()
	if d.Attributes.DisplayName != "displayName" || d.Attributes.Member != "member" || d.Attributes.ID != "entryUUID" {
		t.Errorf("defaults: %+v", d.Attributes)
	}
	g := Config{Provider: "msgraph", TenantID: "contoso.onmicrosoft.com"}.withDefaults()
	if g.GraphURL != DefaultGraphURL || g.TokenURL != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Errorf("graph defaults: %q %q", g.GraphURL, g.TokenURL)
	}
}

func TestOpen(t *testing.T) {
	d, err := Open(Config{Provider: "static", Objects: json.RawMessage(staticDoc)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if o, err := d.Lookup(context.Background(), User, "alice@example.test"); err != nil || o.ID != "u-alice" {
		t.Errorf("Lookup through Open: %v, %v", o, err)
	}
	if _, ok := AsAuthenticator(d); ok {
		t.Error("the static provider cannot check passwords but claims to")
	}
	for _, tc := range []struct {
		name   string
		cfg    Config
		secret string
		err    string
	}{
		{"invalid config", Config{Provider: "nis"}, "", "unknown provider"},
		{"static with secret", Config{Provider: "static", Objects: json.RawMessage(`{}`)}, "pw", "takes no secret"},
		{"ldap bind DN without password", Config{Provider: "ldap", URL: "ldap://h", BaseDN: "dc=x", BindDN: "cn=svc,dc=x"}, "", "password is empty"},
		{"ldap password without bind DN", Config{Provider: "ldap", URL: "ldap://h", BaseDN: "dc=x"}, "pw", "no bindDN"},
		{"ldap unreadable CA", Config{Provider: "ldap", URL: "ldaps://h", BaseDN: "dc=x", CAFile: "/nonexistent/ca.pem"}, "", "caFile"},
		{"msgraph without secret", Config{Provider: "msgraph", TenantID: "t", ClientID: "c"}, "", "client secret"},
	} {
		_, err := Open(tc.cfg, tc.secret)
		if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), tc.err) {
			t.Errorf("%s: error = %v, want EINVALID with %q", tc.name, err, tc.err)
		}
	}
	g, err := Open(Config{Provider: "msgraph", TenantID: "t", ClientID: "c"}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := AsAuthenticator(g); ok {
		t.Error("the msgraph provider claims to check passwords")
	}
}

func TestGUID(t *testing.T) {
	// The bytes of objectGUID as AD stores them, and the string Windows
	// shows for them.
	raw := []byte{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	const want = "12345678-9abc-def0-0123-456789abcdef"
	if got := formatGUID(raw); got != want {
		t.Fatalf("formatGUID = %s, want %s", got, want)
	}
	for _, s := range []string{want, strings.ToUpper(want), "{" + want + "}"} {
		back, ok := parseGUID(s)
		if !ok || string(back) != string(raw) {
			t.Errorf("parseGUID(%q) = %x, %v", s, back, ok)
		}
	}
	for _, s := range []string{"", "alice", "12345678-9abc-def0-0123-456789abcdeg", "123456789abcdef0123456789abcdef0123", "12345678-9abc-def0-0123-456789abcdef0"} {
		if _, ok := parseGUID(s); ok {
			t.Errorf("parseGUID(%q) accepted", s)
		}
	}
	if formatGUID([]byte{1, 2}) != "" {
		t.Error("a short value must not render as a GUID")
	}
	d := &ldapDirectory{cfg: Config{Attributes: Attributes{ID: "objectGUID"}}, binaryID: true}
	if got := d.idClause(want); got != `(objectGUID=\78\56\34\12\bc\9a\f0\de\01\23\45\67\89\ab\cd\ef)` {
		t.Errorf("idClause = %s", got)
	}
	if got := d.idClause("*)(cn=*"); got != "" {
		t.Errorf("a non-GUID gave an id clause %s", got)
	}
}
