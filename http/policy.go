package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/directory"
	"github.com/runbooker/runbooker/loosejson"
)

// Tenant settings documents that shape access, next to the customization
// and permissions documents.
const (
	SettingRoles     = "roles"     // portal roles and their assignments (access.ParseRoles)
	SettingDirectory = "directory" // the tenant's directory provider (DirectorySetting)
)

// DirectorySetting is the settings document that picks a tenant's
// directory: a directory.Config plus, for providers that need a secret (the
// LDAP bind password, the Graph client secret), the name of the tenant's
// credential asset holding it — assets are encrypted at rest, settings are not.
type DirectorySetting struct {
	directory.Config
	SecretAsset string `json:"secretAsset,omitempty"`
}

// policy is what a tenant's settings say about access, read for one request.
// Documents are read on every request, so a change applies to the next one;
// parsing and opening directories is cached by content.
type policy struct {
	perms    *access.Permissions
	permsErr error // a stored permissions document that does not parse denies every runbook
	roles    *access.Roles
	dir      directory.Directory // nil: the tenant has no directory
}

// policyCache keeps the parsed form of the documents each tenant last had.
type policyCache struct {
	mu       sync.Mutex
	perms    map[string]parsed[*access.Permissions]
	roles    map[string]parsed[*access.Roles]
	dirs     map[string]parsed[directory.Directory]
	dirTTL   time.Duration
	fallback directory.Directory
}

type parsed[T any] struct {
	raw []byte
	v   T
	err error
}

// cachedParse returns the parse of raw, reusing the tenant's last one when
// the document has not changed.
func cachedParse[T any](mu *sync.Mutex, m map[string]parsed[T], key string, raw []byte, parse func([]byte) (T, error)) (T, error) {
	mu.Lock()
	p, ok := m[key]
	mu.Unlock()
	if ok && bytes.Equal(p.raw, raw) {
		return p.v, p.err
	}
	v, err := parse(raw)
	mu.Lock()
	m[key] = parsed[T]{raw: raw, v: v, err: err}
	mu.Unlock()
	return v, err
}

// setting reads a tenant settings document; absent is nil.
func (s *Server) setting(ctx context.Context, tenant, key string) ([]byte, error) {
	v, err := s.Store.Setting(ctx, tenant, key)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return nil, nil
	}
	return v, err
}

// policyFor reads the tenant's permissions, roles and directory, the three
// documents in one store read.
func (s *Server) policyFor(ctx context.Context, tenant string) (*policy, error) {
	pc := &s.policies
	p := &policy{}
	docs, err := s.Store.Settings(ctx, tenant, policyKeys)
	if err != nil {
		return nil, err
	}
	p.perms, p.permsErr = cachedParse(&pc.mu, pc.perms, tenant, docs[SettingPermissions], parsePermissions)
	p.roles, err = cachedParse(&pc.mu, pc.roles, tenant, docs[SettingRoles], access.ParseRoles)
	if err != nil {
		// Validated when stored; a document that no longer parses grants nothing.
		s.Log.Warn("the tenant's roles document does not parse; nobody holds a role", "tenant", tenant, "err", err)
		p.roles, _ = access.ParseRoles(nil)
	}
	raw := docs[SettingDirectory]
	if raw == nil {
		p.dir = pc.fallback
		return p, nil
	}
	p.dir, err = cachedParse(&pc.mu, pc.dirs, tenant, raw, func(raw []byte) (directory.Directory, error) {
		return s.openDirectory(ctx, tenant, raw)
	})
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "the tenant's directory cannot be opened: %s", runbooker.ErrorMessage(err))
	}
	return p, nil
}

// policyKeys are the settings documents policyFor reads.
var policyKeys = []string{SettingPermissions, SettingRoles, SettingDirectory}

func parsePermissions(raw []byte) (*access.Permissions, error) {
	return access.ParsePermissions(raw)
}

// openDirectory opens the directory a tenant's setting names.
func (s *Server) openDirectory(ctx context.Context, tenant string, raw []byte) (directory.Directory, error) {
	ds, err := parseDirectorySetting(raw)
	if err != nil {
		return nil, err
	}
	var secret string
	if ds.SecretAsset != "" {
		v, ok, err := s.Engine.AssetValue(ctx, tenant, runbooker.AssetCredential, ds.SecretAsset)
		if err != nil {
			return nil, err
		} else if !ok {
			return nil, runbooker.Errorf(runbooker.EINVALID, "secretAsset: no credential asset %q", ds.SecretAsset)
		}
		var cred struct {
			Password string `json:"password"`
		}
		if err := json.Unmarshal(v, &cred); err != nil {
			return nil, runbooker.Errorf(runbooker.EINVALID, "secretAsset: credential asset %q has no password", ds.SecretAsset)
		}
		secret = cred.Password
	}
	if !s.Config.DirectoryAllowLocal {
		ds.Config.Control = refuseLocal
	}
	d, err := directory.Open(ds.Config, secret)
	if err != nil {
		return nil, err
	}
	return directory.Cached(d, s.policies.dirTTL, s.Engine.Now), nil
}

// parseDirectorySetting reads and checks a directory settings document.
// Tenants may not point the server at its own files: a static directory
// set through the API carries its objects inline.
func parseDirectorySetting(raw []byte) (*DirectorySetting, error) {
	norm, err := loosejson.Normalize(raw)
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "directory is not valid JSON: %v", err)
	}
	var ds DirectorySetting
	if err := json.Unmarshal(norm, &ds); err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "directory: %v", err)
	}
	if ds.Path != "" {
		return nil, runbooker.Errorf(runbooker.EINVALID, "directory: path is for the server's --directory flag only; give a static directory's objects inline")
	}
	if err := ds.Validate(); err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "directory: %s", runbooker.ErrorMessage(err))
	}
	return &ds, nil
}

// decide asks the one decision function whether c may do a with the
// runbook on target t.
func (c *who) decide(a access.Action, runbook string, t *access.Target) access.Decision {
	if c.policy.permsErr != nil && !c.has(access.Admin) {
		return access.Decision{Reason: fmt.Sprintf("the tenant's permissions document cannot be read (%s); an administrator must fix it", runbooker.ErrorMessage(c.policy.permsErr))}
	}
	return access.Decide(c.policy.perms, c.Caller, a, runbook, t)
}

// forbid turns a denial into the error every surface answers 403 with.
func forbid(d access.Decision) error {
	return runbooker.Errorf(runbooker.EFORBIDDEN, "%s", d.Reason)
}

// refuseLocal is the address policy of directories tenants configure: no
// connection to loopback, link-local or unspecified addresses, whatever
// name resolved to them, so a tenant's settings cannot reach the server's
// own services or a cloud metadata endpoint.
func refuseLocal(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("directory: connecting to %q: not an address", address)
	}
	a = a.Unmap()
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() {
		return fmt.Errorf("directory: connecting to %s is refused: a tenant's directory may not reach loopback or link-local addresses (serve --directory-allow-local)", a)
	}
	return nil
}
