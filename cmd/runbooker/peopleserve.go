package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/demo"
	"github.com/runbooker/runbooker/directory"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/loosejson"
	"github.com/runbooker/runbooker/oidcauth"
)

// PeopleFlags are serve's settings for signing people in.
type PeopleFlags struct {
	// DirectorySecretFile holds the LDAP bind password or the Graph client
	// secret of --directory (RUNBOOKER_DIRECTORY_SECRET holds it itself).
	DirectorySecretFile string
	// DirectoryConfigFile is a JSON file with the rest of --directory's
	// settings (a directory.Config: baseDN, bindDN, filters, attributes,
	// tenantId, clientId, …); the --directory spec wins where both speak.
	DirectoryConfigFile string
	OIDCIssuer          string
	OIDCClientID        string
	OIDCSecretFile      string // RUNBOOKER_OIDC_CLIENT_SECRET holds it itself
	OIDCRedirectURL     string
	SessionIdle         time.Duration
	SessionMax          time.Duration
	SecureCookies       bool
	// DirectoryAllowLocal lets tenants' directories reach loopback and
	// link-local addresses.
	DirectoryAllowLocal bool
}

func addPeopleFlags(fs interface {
	StringVar(*string, string, string, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	BoolVar(*bool, string, bool, string)
}, p *PeopleFlags) {
	fs.StringVar(&p.DirectoryConfigFile, "directory-config", "", "JSON file with the rest of --directory's settings (baseDN, bindDN, filters, attributes, tenantId, clientId)")
	fs.StringVar(&p.DirectorySecretFile, "directory-secret-file", "", "file holding --directory's LDAP bind password or Graph client secret (or RUNBOOKER_DIRECTORY_SECRET)")
	fs.StringVar(&p.OIDCIssuer, "oidc-issuer", "", "OpenID Connect issuer URL people sign in with (e.g. https://login.microsoftonline.com/TENANT/v2.0)")
	fs.StringVar(&p.OIDCClientID, "oidc-client-id", "", "OpenID Connect client id")
	fs.StringVar(&p.OIDCSecretFile, "oidc-client-secret-file", "", "file holding the OpenID Connect client secret (or RUNBOOKER_OIDC_CLIENT_SECRET)")
	fs.StringVar(&p.OIDCRedirectURL, "oidc-redirect-url", "", "this server's callback as the identity provider knows it: https://HOST/api/v1/auth/oidc/callback")
	fs.DurationVar(&p.SessionIdle, "session-idle", 30*time.Minute, "a sign-in session unused this long ends")
	fs.DurationVar(&p.SessionMax, "session-max", 12*time.Hour, "no sign-in session lives longer")
	fs.BoolVar(&p.DirectoryAllowLocal, "directory-allow-local", false, "let directories that tenants configure (settings/directory) connect to loopback and link-local addresses (on with --demo)")
	fs.BoolVar(&p.SecureCookies, "secure-cookies", false, "mark session cookies Secure (on with --tls-cert; set it behind a TLS-terminating proxy)")
}

func (p *PeopleFlags) check(dirSpec string) error {
	if dirSpec != "" {
		if _, err := directory.ParseSpec(dirSpec); err != nil {
			return fmt.Errorf("--directory: %v", err)
		}
	}
	if p.OIDCIssuer != "" && (p.OIDCClientID == "" || p.OIDCRedirectURL == "") {
		return fmt.Errorf("--oidc-issuer needs --oidc-client-id and --oidc-redirect-url")
	}
	if p.SessionIdle <= 0 || p.SessionMax <= 0 {
		return fmt.Errorf("--session-idle and --session-max must be positive")
	}
	return nil
}

// secretFrom reads a secret from the environment variable env or else
// from file (trailing newline dropped); "" when neither is set.
func secretFrom(env, file string) (string, error) {
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// directoryConfig reads --directory and, when given, --directory-config.
func directoryConfig(spec, file string) (directory.Config, error) {
	cfg, err := directory.ParseSpec(spec)
	if err != nil || file == "" {
		return cfg, err
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return cfg, fmt.Errorf("--directory-config: %w", err)
	}
	norm, err := loosejson.Normalize(raw)
	if err != nil {
		return cfg, fmt.Errorf("--directory-config %s: %v", file, err)
	}
	var more directory.Config
	if err := json.Unmarshal(norm, &more); err != nil {
		return cfg, fmt.Errorf("--directory-config %s: %v", file, err)
	}
	more.Provider, more.URL, more.Path = cfg.Provider, cfg.URL, cfg.Path
	if err := more.Validate(); err != nil {
		return cfg, fmt.Errorf("--directory with --directory-config: %s", runbooker.ErrorMessage(err))
	}
	return more, nil
}

// setUpPeople gives the HTTP server its default directory and its OpenID
// Connect provider.
func (m *Main) setUpPeople(ctx context.Context) error {
	c := m.Config
	switch {
	case c.Directory != "":
		cfg, err := directoryConfig(c.Directory, c.People.DirectoryConfigFile)
		if err != nil {
			return err
		}
		secret, err := secretFrom("RUNBOOKER_DIRECTORY_SECRET", c.People.DirectorySecretFile)
		if err != nil {
			return fmt.Errorf("--directory-secret-file: %w", err)
		}
		d, err := directory.Open(cfg, secret)
		if err != nil {
			return fmt.Errorf("--directory: %v", err)
		}
		m.HTTP.SetDirectory(d)
	case c.Demo:
		d, err := directory.Open(directory.Config{Provider: "static", Objects: demo.Directory}, "")
		if err != nil {
			return fmt.Errorf("the demo directory: %v", err)
		}
		m.HTTP.SetDirectory(d)
	}
	if c.People.OIDCIssuer != "" {
		secret, err := secretFrom("RUNBOOKER_OIDC_CLIENT_SECRET", c.People.OIDCSecretFile)
		if err != nil {
			return fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		p, err := oidcauth.NewLazy(oidcauth.Config{Issuer: c.People.OIDCIssuer, ClientID: c.People.OIDCClientID,
			ClientSecret: secret, RedirectURL: c.People.OIDCRedirectURL})
		if err != nil {
			return fmt.Errorf("--oidc-issuer: %v", err)
		}
		m.HTTP.OIDC = p
	}
	go m.purgeSessions(ctx, 5*time.Minute)
	return nil
}

// purgeSessions deletes ended sessions (past their absolute limit, or idle
// too long) every interval until ctx ends. Requests refuse such sessions
// anyway; this keeps the table from growing.
func (m *Main) purgeSessions(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := m.Engine.Now()
			n, err := m.Store.PurgeSessions(ctx, now, now.Add(-m.HTTP.Config.Session.Idle))
			if err != nil {
				m.Log.Warn("purging ended sessions failed", "err", err)
			} else if n > 0 {
				m.Log.Debug("purged ended sessions", "count", n)
			}
		}
	}
}

// auditSync records in the tenant's audit log the runbooks a sync changed:
// syncs change runbooks as surely as uploads do, whether a person asked
// for them (also recorded, as sync.run) or the interval service did.
func (m *Main) auditSync(ctx context.Context, tenantID string, r *gitsync.Report) {
	detail, _ := json.Marshal(map[string]any{"commit": r.Commit, "branch": r.Branch, "added": r.Added, "updated": r.Updated,
		"adopted": r.Adopted, "removed": r.Removed})
	e := &runbooker.AuditEntry{TenantID: tenantID, Time: m.Engine.Now(), Actor: "sync source " + r.Source, ActorKind: runbooker.ActorSystem,
		Surface: "sync", Action: "runbook.sync", Object: r.Source, Detail: detail}
	if err := m.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		m.Log.Error("audit log append failed", "tenant", tenantID, "action", e.Action, "err", err)
	}
}

// oidcName is how the sign-in page names the identity provider.
func oidcName(issuer string) string {
	u, err := url.Parse(issuer)
	switch {
	case issuer == "":
		return ""
	case err != nil || u.Host == "":
		return "single sign-on"
	case strings.Contains(u.Host, "microsoftonline.com"):
		return "Microsoft Entra ID"
	}
	return u.Host
}
