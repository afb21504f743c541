package engine

import (
	"context"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/entra"
)

// identityState is what the engine knows of tenants' managed identities:
// the issuer that signs in as their applications, and per tenant whether
// one is configured (read at most every cacheTTL, so a claim costs no
// store read per job).
type identityState struct {
	mu      sync.Mutex
	issuer  *entra.Issuer
	tenants map[string]identityEntry
}

type identityEntry struct {
	job *runbooker.JobIdentity // nil: none configured
	at  time.Time
}

// SetIdentityIssuer gives the engine the issuer of managed-identity tokens.
// Without one, jobs of tenants with an identity setting still see the
// endpoint, and their requests are answered EUNAVAILABLE.
func (e *Engine) SetIdentityIssuer(is *entra.Issuer) {
	e.ident.mu.Lock()
	e.ident.issuer = is
	e.ident.mu.Unlock()
}

// ForgetIdentity drops what the engine remembers of a tenant's identity
// setting: the HTTP server calls it when the document changes, so the next
// job sees the change at once on this replica (others within cacheTTL).
func (e *Engine) ForgetIdentity(tenantID string) {
	e.ident.mu.Lock()
	delete(e.ident.tenants, tenantID)
	e.ident.mu.Unlock()
}

// identitySetting reads and parses a tenant's identity document; nil when
// none is configured.
func (e *Engine) identitySetting(ctx context.Context, tenantID string) (*entra.Setting, error) {
	raw, err := e.store.Setting(ctx, tenantID, entra.SettingKey)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return entra.ParseSetting(raw)
}

// jobIdentity is the Assignment's Identity for a job of tenantID: nil when
// the tenant has no identity (or its document cannot be read, which is
// logged: the job runs without one).
func (e *Engine) jobIdentity(ctx context.Context, tenantID string) *runbooker.JobIdentity {
	st := &e.ident
	st.mu.Lock()
	ent, ok := st.tenants[tenantID]
	st.mu.Unlock()
	// Wall clock on purpose, as the engine's caches: a real-time bound on
	// how late a change made through another replica is seen.
	if ok && time.Since(ent.at) < cacheTTL {
		return ent.job
	}
	ent = identityEntry{at: time.Now()}
	s, err := e.identitySetting(ctx, tenantID)
	if err != nil {
		e.log.Warn("the tenant's identity setting cannot be read; its jobs run without a managed identity", "tenant", tenantID, "err", err)
	} else if s != nil {
		ent.job = &runbooker.JobIdentity{AccountID: s.AccountIDFor(tenantID), ClientID: s.ClientID}
	}
	st.mu.Lock()
	if st.tenants == nil {
		st.tenants = map[string]identityEntry{}
	}
	st.tenants[tenantID] = ent
	st.mu.Unlock()
	return ent.job
}

// JobIdentityToken returns an access token of the tenant's application for
// a running job (its managed identity). w is the worker asking (nil for the
// built-in group); it must hold the attempt's lease, as for assets. The
// token comes from the issuer's cache while it lasts more than
// entra.RenewBefore. A tenant without an identity is EINVALID; the
// authority refusing or unreachable is EUNAVAILABLE naming its error.
func (e *Engine) JobIdentityToken(ctx context.Context, w *runbooker.Worker, tenantID string, ref runbooker.JobRef, req runbooker.IdentityRequest) (*runbooker.IdentityToken, error) {
	j, err := e.leasedJob(ctx, w, tenantID, ref)
	if err != nil {
		return nil, err
	}
	s, err := e.identitySetting(ctx, j.TenantID)
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "the tenant's identity setting cannot be used: %s", runbooker.ErrorMessage(err))
	}
	if s == nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "this job has no managed identity: its tenant has not configured one (settings document %q)", entra.SettingKey)
	}
	if req.ClientID != "" && req.ClientID != s.ClientID {
		return nil, runbooker.Errorf(runbooker.EINVALID, "client_id %q is not this job's identity (%s)", req.ClientID, s.ClientID)
	}
	if req.PrincipalID != "" && req.PrincipalID != s.PrincipalID {
		return nil, runbooker.Errorf(runbooker.EINVALID, "principal_id %q is not this job's identity", req.PrincipalID)
	}
	if err := entra.CheckResource(req.Resource); err != nil {
		return nil, err
	}
	var cred entra.Credential
	if s.SecretAsset != "" {
		v, _, err := e.AssetValue(ctx, j.TenantID, runbooker.AssetCredential, s.SecretAsset)
		if err != nil {
			return nil, identityAssetErr(err, "credential", s.SecretAsset)
		}
		cred, err = entra.SecretCredential(s.SecretAsset, v)
		if err != nil {
			return nil, err
		}
	} else {
		v, _, err := e.AssetValue(ctx, j.TenantID, runbooker.AssetCertificate, s.CertificateAsset)
		if err != nil {
			return nil, identityAssetErr(err, "certificate", s.CertificateAsset)
		}
		cred, err = entra.CertificateCredential(s.CertificateAsset, v)
		if err != nil {
			return nil, err
		}
	}
	e.ident.mu.Lock()
	is := e.ident.issuer
	e.ident.mu.Unlock()
	if is == nil {
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "this server issues no managed-identity tokens")
	}
	tok, err := is.Token(ctx, entra.TokenParams{Tenant: j.TenantID, Setting: s, Credential: cred, Resource: req.Resource})
	if err != nil {
		// The tenant's administrator must act (a revoked secret, a missing
		// permission); the job only sees its own failure.
		e.log.Warn("managed-identity token refused", "tenant", j.TenantID, "job", j.ID, "resource", req.Resource, "err", runbooker.ErrorMessage(err))
		return nil, err
	}
	return tok, nil
}

// identityAssetErr says which asset of the identity setting is missing;
// a missing asset is the tenant's configuration error, not the job's.
func identityAssetErr(err error, kind, name string) error {
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "the identity setting names the %s asset %q, which does not exist", kind, name)
	}
	return err
}
