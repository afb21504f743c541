package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runbooker/runbooker"
)

// Limits of talking to the authority.
const (
	// RenewBefore is how long before it expires a cached token is renewed:
	// a job always gets a token that lasts at least this long.
	RenewBefore = 5 * time.Minute
	timeout     = 30 * time.Second
	maxBody     = 1 << 20
	// maxCached bounds the cache: resources are named by jobs.
	maxCached = 10000
)

// Issuer signs in as tenants' applications and keeps their tokens, per
// Runbooker tenant, application and resource, until RenewBefore ahead of
// their expiry. Safe for concurrent use; one request per key is in flight
// at a time.
type Issuer struct {
	http *http.Client
	now  func() time.Time

	mu       sync.Mutex
	cache    map[string]*runbooker.IdentityToken
	inflight map[string]*sync.Mutex
}

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	// AllowLocal lets authorities resolve to loopback, link-local and
	// unspecified addresses (tests; an authority on the server's own
	// network). Off, a tenant's setting cannot make the server post
	// forms to its own services or a cloud metadata endpoint.
	AllowLocal bool
	// Now is the clock of expiry times; nil is the wall clock.
	Now func() time.Time
	// Transport replaces the HTTP transport (tests); AllowLocal is then
	// the transport's business.
	Transport http.RoundTripper
}

// NewIssuer returns an Issuer.
func NewIssuer(cfg IssuerConfig) *Issuer {
	tr := cfg.Transport
	if tr == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		if !cfg.AllowLocal {
			d.Control = refuseLocal
		}
		base := http.DefaultTransport.(*http.Transport).Clone()
		base.Proxy = nil // the dial guard must see the authority's own address
		base.DialContext = d.DialContext
		tr = base
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Issuer{
		http: &http.Client{Transport: tr, Timeout: timeout,
			// A redirect would re-send the secret elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		now: now, cache: map[string]*runbooker.IdentityToken{}, inflight: map[string]*sync.Mutex{},
	}
}

// TokenParams is one token request.
type TokenParams struct {
	Tenant     string // the Runbooker tenant
	Setting    *Setting
	Credential Credential
	Resource   string
}

// CheckResource refuses a resource no authority could issue a token for.
func CheckResource(resource string) error {
	if resource == "" {
		return runbooker.Errorf(runbooker.EINVALID, "the resource parameter is required (for example https://graph.microsoft.com)")
	}
	if len(resource) > 2048 || strings.ContainsFunc(resource, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return runbooker.Errorf(runbooker.EINVALID, "resource %.80q is not an application id URI", resource)
	}
	return nil
}

// Token returns a token for p.Resource: the cached one while it has more
// than RenewBefore left, else a new one from the authority.
func (is *Issuer) Token(ctx context.Context, p TokenParams) (*runbooker.IdentityToken, error) {
	if err := CheckResource(p.Resource); err != nil {
		return nil, err
	}
	s := p.Setting
	key := strings.Join([]string{p.Tenant, s.Authority, s.TenantID, s.ClientID, p.Credential.fingerprint(), p.Resource}, "\x00")
	is.mu.Lock()
	lock := is.inflight[key]
	if lock == nil {
		lock = &sync.Mutex{}
		is.inflight[key] = lock
	}
	is.mu.Unlock()
	lock.Lock()
	defer func() {
		is.mu.Lock()
		if is.inflight[key] == lock {
			delete(is.inflight, key)
		}
		is.mu.Unlock()
		lock.Unlock()
	}()
	if t := is.cached(key); t != nil {
		return t, nil
	}
	t, err := is.request(ctx, p)
	is.mu.Lock()
	if err == nil && t.ExpiresOn.Sub(is.now()) > RenewBefore {
		if len(is.cache) >= maxCached {
			is.evictLocked()
		}
		is.cache[key] = t
	}
	is.mu.Unlock()
	if err != nil {
		return nil, err
	}
	c := *t
	return &c, nil
}

func (is *Issuer) cached(key string) *runbooker.IdentityToken {
	is.mu.Lock()
	defer is.mu.Unlock()
	t := is.cache[key]
	if t == nil {
		return nil
	}
	if t.ExpiresOn.Sub(is.now()) <= RenewBefore {
		delete(is.cache, key)
		return nil
	}
	c := *t
	return &c
}

// evictLocked drops tokens due for renewal, and if none are, half the cache.
func (is *Issuer) evictLocked() {
	n := 0
	for k, t := range is.cache {
		if t.ExpiresOn.Sub(is.now()) <= RenewBefore {
			delete(is.cache, k)
			n++
		}
	}
	for k := range is.cache {
		if n >= maxCached/2 {
			break
		}
		delete(is.cache, k)
		n++
	}
}

// request runs the client-credentials flow once.
func (is *Issuer) request(ctx context.Context, p TokenParams) (*runbooker.IdentityToken, error) {
	s := p.Setting
	tokenURL := s.TokenURL()
	form := url.Values{
		"grant_type": {"client_credentials"},
		"client_id":  {s.ClientID},
		"scope":      {p.Resource + "/.default"},
	}
	if p.Credential.Cert != nil {
		a, err := p.Credential.assertion(s.ClientID, tokenURL, is.now())
		if err != nil {
			return nil, err
		}
		form.Set("client_assertion_type", AssertionType)
		form.Set("client_assertion", a)
	} else {
		form.Set("client_secret", p.Credential.Secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	unavailable := func(format string, args ...any) error {
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "identity authority %s: "+format, append([]any{s.Authority}, args...)...)
	}
	resp, err := is.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		return nil, unavailable("cannot be reached: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, unavailable("did not answer completely: %v", err)
	}
	var tok struct {
		TokenType   string          `json:"token_type"`
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // a number, or a string in v1
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	_ = json.Unmarshal(body, &tok)
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		if tok.Error != "" {
			// The description starts with the AADSTS code that tells an
			// administrator what is wrong; it names no secret.
			desc, _, _ := strings.Cut(tok.Description, "\r\n")
			desc, _, _ = strings.Cut(desc, "\n")
			return nil, unavailable("refused the token request: %s: %s", tok.Error, desc)
		}
		return nil, unavailable("answered %s without a token", resp.Status)
	}
	secs, err := strconv.ParseInt(strings.Trim(string(tok.ExpiresIn), `"`), 10, 64)
	if err != nil || secs <= 0 {
		return nil, unavailable("answered a token without a valid expires_in")
	}
	if tok.TokenType == "" {
		tok.TokenType = "Bearer"
	}
	return &runbooker.IdentityToken{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Resource: p.Resource,
		ClientID: s.ClientID, ExpiresOn: is.now().Add(time.Duration(secs) * time.Second).Truncate(time.Second)}, nil
}

// refuseLocal is the dial guard of authorities: no loopback, link-local or
// unspecified address, whatever name resolved to it.
func refuseLocal(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() {
		return fmt.Errorf("the address %s is local; the server refuses it (serve --identity-allow-local)", ip)
	}
	return nil
}
