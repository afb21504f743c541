// Package oidctest runs a small OpenID Connect provider on loopback for
// tests: discovery, a JWKS with a fresh RSA key, an authorization endpoint
// that signs in the configured user without any page, and a token endpoint
// that checks everything a real provider checks (client, one-time code,
// redirect URI, PKCE) and issues RS256 ID tokens. Faults make it issue bad
// tokens, so tests can prove a client rejects them.
//
// It is an ordinary package, not a _test file, so the server's integration
// tests in other packages can use it too. It is not fit for production.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Claims describe the person the provider signs in.
type Claims struct {
	Sub               string
	PreferredUsername string
	Name              string
	Email             string
	Groups            []string // nil leaves the groups claim out
	// Extra holds further claims to put in the ID token verbatim, such as
	// "upn" or an Entra ID style overage ("_claim_names", "_claim_sources").
	Extra map[string]any
}

// Fault makes the token endpoint issue a bad ID token.
type Fault int

// Faults for negative tests. Each spoils one property of the ID token and
// leaves the rest valid.
const (
	NoFault       Fault = iota
	WrongAudience       // aud is another client
	Expired             // exp lies an hour in the past
	WrongNonce          // nonce differs from the one the client sent
	ForeignKey          // signed by a key not in the JWKS (same kid)
	WrongIssuer         // iss is another issuer
)

// Options configure a Provider. The zero value works.
type Options struct {
	// ClientID and ClientSecret of the one registered client. Defaults:
	// "runbooker" and a random secret.
	ClientID     string
	ClientSecret string
	// RedirectURIs the client may use; AllowRedirectURI adds more later,
	// e.g. once the server under test knows its address.
	RedirectURIs []string
	// AuthMethods are the client authentication methods advertised and
	// accepted at the token endpoint: client_secret_basic and/or
	// client_secret_post. Empty means both.
	AuthMethods []string
	// TLS serves https with httptest's certificate; clients must then use
	// Client() (or trust its certificate).
	TLS bool
	// CodeTTL is how long an authorization code can be redeemed (default
	// one minute); TokenTTL how long ID tokens are valid (default one hour).
	CodeTTL  time.Duration
	TokenTTL time.Duration
}

// Provider is a running test provider. It is safe for concurrent use.
type Provider struct {
	// ClientID and ClientSecret are the registered client's credentials.
	ClientID     string
	ClientSecret string

	srv     *httptest.Server
	opts    Options
	key     *rsa.PrivateKey
	kid     string
	foreign *rsa.PrivateKey // signs ForeignKey tokens; made on first need

	mu        sync.Mutex
	user      *Claims
	denial    *string // non-nil: /authorize answers access_denied with this description
	fault     Fault
	down      bool
	redirects map[string]bool
	codes     map[string]grant
}

// grant is an issued, not yet redeemed authorization code.
type grant struct {
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
	claims      Claims
	expires     time.Time
}

// New starts a provider on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB, opts Options) *Provider {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = "runbooker"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = rand.Text()
	}
	if len(opts.AuthMethods) == 0 {
		opts.AuthMethods = []string{"client_secret_basic", "client_secret_post"}
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = time.Minute
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generate signing key: %v", err)
	}
	p := &Provider{
		ClientID:     opts.ClientID,
		ClientSecret: opts.ClientSecret,
		opts:         opts,
		key:          key,
		kid:          "oidctest-" + rand.Text()[:8],
		redirects:    map[string]bool{},
		codes:        map[string]grant{},
	}
	for _, u := range opts.RedirectURIs {
		p.redirects[u] = true
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewUnstartedServer(p.gate(mux))
	p.srv.Config.ReadHeaderTimeout = 10 * time.Second
	p.srv.Config.ReadTimeout = 30 * time.Second
	p.srv.Config.WriteTimeout = 30 * time.Second
	if opts.TLS {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(p.srv.Close)
	return p
}

// Issuer returns the provider's issuer URL (its base URL, no trailing slash).
func (p *Provider) Issuer() string { return p.srv.URL }

// Client returns an HTTP client that trusts the provider's certificate
// (with Options.TLS) and does not follow redirects, so a test can take the
// authorization endpoint's answer from the Location header.
func (p *Provider) Client() *http.Client {
	c := *p.srv.Client()
	c.Timeout = 30 * time.Second
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// SetUser makes the authorization endpoint sign in c from now on, and ends
// any Deny.
func (p *Provider) SetUser(c Claims) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user, p.denial = &c, nil
}

// Deny makes the authorization endpoint refuse every sign-in with
// error=access_denied and description, until the next SetUser.
func (p *Provider) Deny(description string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.denial = &description
}

// SetFault makes the token endpoint issue ID tokens with fault f (NoFault
// restores good tokens).
func (p *Provider) SetFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// SetAvailable(false) makes every endpoint answer 503, as a provider that
// is down; SetAvailable(true) brings it back.
func (p *Provider) SetAvailable(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = !up
}

// AllowRedirectURI registers one more redirect URI for the client.
func (p *Provider) AllowRedirectURI(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirects[uri] = true
}

// gate answers 503 while the provider is set unavailable.
func (p *Provider) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "oidctest: provider is down", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// discovery serves the OpenID Provider metadata.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	iss := p.Issuer()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"jwks_uri":                                       iss + "/jwks",
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"scopes_supported":                               []string{"openid", "profile", "email"},
		"token_endpoint_auth_methods_supported":          p.opts.AuthMethods,
		"code_challenge_methods_supported":               []string{"S256"},
		"grant_types_supported":                          []string{"authorization_code"},
		"authorization_response_iss_parameter_supported": true,
	})
}

// jwks serves the public half of the signing key.
func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &p.key.PublicKey,
		KeyID:     p.kid,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}})
}

// writeJSON writes v as a JSON response that no cache keeps.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// jsonMarshal encodes v with a wrapped error.
func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("oidctest: encode claims: %w", err)
	}
	return b, nil
}
