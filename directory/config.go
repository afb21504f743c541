package directory

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/runbooker/runbooker"
)

// Provider names.
const (
	ProviderStatic  = "static"
	ProviderLDAP    = "ldap"
	ProviderMSGraph = "msgraph"
)

// Defaults, chosen for Active Directory and Microsoft's public cloud.
const (
	DefaultUserFilter   = "(&(objectClass=user)(objectCategory=person))"
	DefaultGroupFilter  = "(objectClass=group)"
	DefaultDeviceFilter = "(objectClass=computer)"
	DefaultGraphURL     = "https://graph.microsoft.com/v1.0"
	// DefaultTokenURL has {tenantId} replaced by Config.TenantID.
	DefaultTokenURL = "https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token"
)

// Config says which provider a tenant uses and how to reach it. The server
// stores it per tenant as a JSON settings document; secrets (the LDAP bind
// password, the Graph client secret) are kept apart, encrypted, and given
// to Open separately.
type Config struct {
	Provider string `json:"provider"`

	// Path is a static document on the server's disk. It comes only from
	// the server's --directory flag, never from a tenant's settings: a
	// tenant must not make the server read files of its choosing.
	Path string `json:"-"`
	// Objects is a static document given inline (the shape of the file).
	Objects json.RawMessage `json:"objects,omitempty"`
	// Control, when set, sees every connection the ldap and msgraph
	// providers open, with the address it is about to dial, and may refuse
	// it (net.Dialer.Control): the server's address policy for directories
	// a tenant configures.
	Control func(network, address string, c syscall.RawConn) error `json:"-"`

	// URL is ldap://host[:port] or ldaps://host[:port].
	URL      string `json:"url,omitempty"`
	StartTLS bool   `json:"startTLS,omitempty"`
	BaseDN   string `json:"baseDN,omitempty"`
	// BindDN is the service account the server searches as; empty binds
	// anonymously.
	BindDN       string `json:"bindDN,omitempty"`
	UserFilter   string `json:"userFilter,omitempty"`
	GroupFilter  string `json:"groupFilter,omitempty"`
	DeviceFilter string `json:"deviceFilter,omitempty"`
	// ActiveDirectory lets MemberOf ask the server for the transitive
	// closure in one search (LDAP_MATCHING_RULE_IN_CHAIN), which only
	// Active Directory understands. Without it the server is walked one
	// level of groups at a time, which works on any LDAP server.
	ActiveDirectory    bool       `json:"activeDirectory,omitempty"`
	Attributes         Attributes `json:"attributes,omitempty"`
	CAFile             string     `json:"caFile,omitempty"`
	InsecureSkipVerify bool       `json:"insecureSkipVerify,omitempty"`

	TenantID string `json:"tenantId,omitempty"`
	ClientID string `json:"clientId,omitempty"`
	GraphURL string `json:"graphURL,omitempty"`
	TokenURL string `json:"tokenURL,omitempty"`
}

// Attributes maps the fields of an Object to LDAP attribute names. Empty
// fields take the Active Directory names.
type Attributes struct {
	// ID is the stable identifier. objectGUID (binary) is shown as the
	// usual GUID string; on OpenLDAP entryUUID is the natural choice.
	ID                string `json:"id,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	// DisplayName falls back to cn when an entry has no value for it.
	DisplayName string `json:"displayName,omitempty"`
	Mail        string `json:"mail,omitempty"`
	// MemberOf names the back-link attribute AD (or slapd's memberof
	// overlay) maintains. It is accepted but not read: membership is
	// resolved through Member, which every server keeps, so that a plain
	// slapd without overlays gives the same answers.
	MemberOf string `json:"memberOf,omitempty"`
	// Member is the group attribute holding member DNs.
	Member string `json:"member,omitempty"`
	// PrimaryUser holds the DN of a device's user (AD: managedBy).
	PrimaryUser string `json:"primaryUser,omitempty"`
}

// withDefaults fills what the configuration leaves empty.
func (a Attributes) withDefaults() Attributes {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&a.ID, "objectGUID")
	def(&a.UserPrincipalName, "userPrincipalName")
	def(&a.DisplayName, "displayName")
	def(&a.Mail, "mail")
	def(&a.MemberOf, "memberOf")
	def(&a.Member, "member")
	def(&a.PrimaryUser, "managedBy")
	return a
}

// withDefaults returns c with every default filled in.
func (c Config) withDefaults() Config {
	switch c.Provider {
	case ProviderLDAP:
		if c.UserFilter == "" {
			c.UserFilter = DefaultUserFilter
		}
		if c.GroupFilter == "" {
			c.GroupFilter = DefaultGroupFilter
		}
		if c.DeviceFilter == "" {
			c.DeviceFilter = DefaultDeviceFilter
		}
		c.Attributes = c.Attributes.withDefaults()
	case ProviderMSGraph:
		if c.GraphURL == "" {
			c.GraphURL = DefaultGraphURL
		}
		c.GraphURL = strings.TrimRight(c.GraphURL, "/")
		if c.TokenURL == "" {
			c.TokenURL = strings.ReplaceAll(DefaultTokenURL, "{tenantId}", url.PathEscape(c.TenantID))
		}
	}
	return c
}

// attributeName is an LDAP attribute description without options: a name
// or a numeric OID. Attribute names go into filters unescaped, so nothing
// else may pass.
var attributeName = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$`)

// tenantName is a Microsoft Entra tenant: a GUID or a domain name.
var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)

// Validate reports the first thing wrong with c, as EINVALID.
func (c Config) Validate() error {
	invalid := func(format string, args ...any) error {
		return runbooker.Errorf(runbooker.EINVALID, "directory: "+format, args...)
	}
	switch c.Provider {
	case ProviderStatic:
		if c.Path == "" && len(c.Objects) == 0 {
			return invalid("the static provider needs a document (objects) or a file (--directory static:PATH)")
		}
		if c.Path != "" && len(c.Objects) > 0 {
			return invalid("the static provider takes a file or an inline document, not both")
		}
		if len(c.Objects) > 0 {
			if _, err := parseStatic(c.Objects); err != nil {
				return err
			}
		}
	case ProviderLDAP:
		if err := validateLDAPURL(c.URL); err != nil {
			return err
		}
		if c.StartTLS && strings.HasPrefix(strings.ToLower(c.URL), "ldaps:") {
			return invalid("startTLS is for ldap:// URLs; %s is already TLS", c.URL)
		}
		if strings.TrimSpace(c.BaseDN) == "" {
			return invalid("the ldap provider needs a baseDN (for example dc=example,dc=com)")
		}
		if _, err := ldap.ParseDN(c.BaseDN); err != nil {
			return invalid("baseDN %q is not a distinguished name", c.BaseDN)
		}
		if c.BindDN != "" {
			if _, err := ldap.ParseDN(c.BindDN); err != nil {
				return invalid("bindDN %q is not a distinguished name", c.BindDN)
			}
		}
		d := c.withDefaults()
		for _, f := range []struct{ name, value string }{
			{"userFilter", d.UserFilter}, {"groupFilter", d.GroupFilter}, {"deviceFilter", d.DeviceFilter},
		} {
			if _, err := ldap.CompileFilter(f.value); err != nil {
				return invalid("%s %q is not an LDAP filter", f.name, f.value)
			}
		}
		a := d.Attributes
		for _, f := range []struct{ name, value string }{
			{"id", a.ID}, {"userPrincipalName", a.UserPrincipalName}, {"displayName", a.DisplayName},
			{"mail", a.Mail}, {"memberOf", a.MemberOf}, {"member", a.Member}, {"primaryUser", a.PrimaryUser},
		} {
			if !attributeName.MatchString(f.value) {
				return invalid("attributes.%s %q is not an LDAP attribute name", f.name, f.value)
			}
		}
	case ProviderMSGraph:
		if !tenantName.MatchString(c.TenantID) {
			return invalid("tenantId %q must be the tenant's id or domain name", c.TenantID)
		}
		if strings.TrimSpace(c.ClientID) == "" {
			return invalid("the msgraph provider needs the app registration's clientId")
		}
		d := c.withDefaults()
		for _, f := range []struct{ name, value string }{{"graphURL", d.GraphURL}, {"tokenURL", d.TokenURL}} {
			u, err := url.Parse(f.value)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				return invalid("%s %q must be an https:// URL", f.name, f.value)
			}
		}
	case "":
		return invalid("no provider; choose static, ldap or msgraph")
	default:
		return invalid("unknown provider %q; choose static, ldap or msgraph", c.Provider)
	}
	return nil
}

// validateLDAPURL accepts ldap:// and ldaps:// URLs naming a host and
// nothing else (no path, query or credentials).
func validateLDAPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") {
		return runbooker.Errorf(runbooker.EINVALID, "directory: LDAP URL %q must start with ldap:// or ldaps://", s)
	}
	if u.Hostname() == "" {
		return runbooker.Errorf(runbooker.EINVALID, "directory: LDAP URL %q names no host", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return runbooker.Errorf(runbooker.EINVALID, "directory: LDAP URL %q must be only scheme, host and port (put the base DN in baseDN)", s)
	}
	return nil
}

// ParseSpec reads the server's --directory flag: "static:PATH",
// "ldap:URL" (URL being ldap://… or ldaps://…) or "msgraph". The rest of
// an ldap or msgraph configuration comes from other flags; call Validate
// once it is complete.
func ParseSpec(spec string) (Config, error) {
	const help = "use static:PATH, ldap:ldap://HOST[:PORT], ldap:ldaps://HOST[:PORT] or msgraph"
	provider, rest, hasRest := strings.Cut(spec, ":")
	switch provider {
	case ProviderStatic:
		if strings.TrimSpace(rest) == "" || strings.ContainsRune(rest, 0) {
			return Config{}, runbooker.Errorf(runbooker.EINVALID, "directory %q: static needs a file path (static:PATH)", spec)
		}
		return Config{Provider: ProviderStatic, Path: rest}, nil
	case ProviderLDAP:
		if rest == "" {
			return Config{}, runbooker.Errorf(runbooker.EINVALID, "directory %q: ldap needs a server URL (ldap:ldap://HOST or ldap:ldaps://HOST)", spec)
		}
		if err := validateLDAPURL(rest); err != nil {
			return Config{}, runbooker.Errorf(runbooker.EINVALID, "directory %q: %s", spec, strings.TrimPrefix(runbooker.ErrorMessage(err), "directory: "))
		}
		return Config{Provider: ProviderLDAP, URL: rest}, nil
	case ProviderMSGraph:
		if hasRest {
			return Config{}, runbooker.Errorf(runbooker.EINVALID, "directory %q: msgraph takes nothing after it (tenant and client come from their own flags)", spec)
		}
		return Config{Provider: ProviderMSGraph}, nil
	case "":
		return Config{}, runbooker.Errorf(runbooker.EINVALID, "directory: empty specification; %s", help)
	default:
		return Config{}, runbooker.Errorf(runbooker.EINVALID, "directory %q: unknown provider %q; %s", spec, provider, help)
	}
}

// Open connects the configured provider. secret is the LDAP bind password
// or the Graph client secret; the static provider takes none. Opening does
// not contact a server: an unreachable one shows up as EUNAVAILABLE on the
// first call. The ldap provider keeps connections open and is an
// io.Closer (so is what Cached returns); close it when the tenant's
// settings change.
func Open(cfg Config, secret string) (Directory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	switch cfg.Provider {
	case ProviderStatic:
		if secret != "" {
			return nil, runbooker.Errorf(runbooker.EINVALID, "directory: the static provider takes no secret")
		}
		if cfg.Path != "" {
			return openStaticFile(cfg.Path, nil)
		}
		return parseStatic(cfg.Objects)
	case ProviderLDAP:
		return newLDAP(cfg, secret)
	case ProviderMSGraph:
		if secret == "" {
			return nil, runbooker.Errorf(runbooker.EINVALID, "directory: the msgraph provider needs the app's client secret")
		}
		var client *http.Client
		if cfg.Control != nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, Control: cfg.Control}).DialContext
			client = &http.Client{Timeout: graphTimeout, Transport: tr}
		}
		return newGraph(cfg, secret, client), nil
	}
	return nil, fmt.Errorf("directory: provider %q passed validation but is not opened", cfg.Provider)
}
