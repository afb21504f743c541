package oidcauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/runbooker/runbooker"
)

// discoveryTimeout bounds one discovery attempt, whatever the caller's
// context allows, so a sign-in waiting on a lazy discovery fails in
// reasonable time when the provider hangs.
const discoveryTimeout = 10 * time.Second

// retryInterval is the least time between two discovery attempts of a lazy
// Provider. Within it, callers get the last failure at once instead of each
// sign-in waiting for (and adding to the load on) a provider that is down.
const retryInterval = 5 * time.Second

// Provider signs people in at one OpenID Connect provider. It is safe for
// concurrent use.
type Provider struct {
	cfg Config

	mu       sync.Mutex
	ready    *endpoints    // nil until discovery succeeds; never changes after
	lastTry  time.Time     // start of the last failed or running attempt
	lastErr  error         // why the last attempt failed
	inflight chan struct{} // closed when the running attempt ends; nil if none
}

// endpoints is what discovery teaches: where to send people and codes, and
// how to check the ID tokens that come back.
type endpoints struct {
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New validates cfg and runs discovery now, so a wrong issuer or an
// unreachable provider is reported at start. Use NewLazy when the server
// must start even while the provider is down.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	p, err := NewLazy(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.Ready(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// NewLazy validates cfg but leaves discovery to the first sign-in (or to
// Ready). While the provider cannot be reached, sign-ins fail with
// EUNAVAILABLE and discovery is tried again, at most once per few seconds,
// until it succeeds; after that the result is kept for the Provider's life.
func NewLazy(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg.withDefaults()}, nil
}

// Issuer returns the issuer URL the Provider trusts.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Ready runs discovery if it has not succeeded yet and reports whether the
// Provider can sign people in. A server may call it at start (to log a
// warning) or from a health check. Failures carry code EUNAVAILABLE.
func (p *Provider) Ready(ctx context.Context) error {
	_, err := p.endpoints(ctx)
	return err
}

// endpoints returns the discovered endpoints, running discovery when it has
// not succeeded yet and no attempt was made within retryInterval. Callers
// arriving during an attempt wait for it rather than starting their own.
func (p *Provider) endpoints(ctx context.Context) (*endpoints, error) {
	p.mu.Lock()
	for {
		if p.ready != nil {
			e := p.ready
			p.mu.Unlock()
			return e, nil
		}
		if p.inflight != nil {
			wait := p.inflight
			p.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			p.mu.Lock()
			continue
		}
		if p.lastErr != nil && p.cfg.Clock.Now().Sub(p.lastTry) < retryInterval {
			err := p.lastErr
			p.mu.Unlock()
			return nil, err
		}
		break
	}
	done := make(chan struct{})
	p.inflight = done
	p.lastTry = p.cfg.Clock.Now()
	p.mu.Unlock()

	e, err := p.discover(ctx)

	p.mu.Lock()
	p.inflight = nil
	if err == nil {
		p.ready, p.lastErr = e, nil
	} else {
		p.lastErr = err
	}
	p.mu.Unlock()
	close(done)
	return e, err
}

// discover fetches the discovery document and builds the OAuth 2 client and
// the ID token verifier from it. The attempt is detached from the caller's
// cancellation: others may be waiting on it, and go-oidc keeps the context's
// HTTP client for later key fetches.
func (p *Provider) discover(ctx context.Context) (*endpoints, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
	defer cancel()
	ctx = oidc.ClientContext(ctx, p.cfg.HTTPClient)

	op, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	var mismatch *oidc.IssuerMismatchError
	if errors.As(err, &mismatch) {
		return nil, p.unavailable(fmt.Errorf("oidc: discovery at %s: the provider names itself %q; configure exactly that issuer: %w", p.cfg.Issuer, mismatch.Discovered, err))
	}
	if err != nil {
		return nil, p.unavailable(fmt.Errorf("oidc: discovery at %s failed: %w", p.cfg.Issuer, err))
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, p.unavailable(fmt.Errorf("oidc: discovery document of %s: %w", p.cfg.Issuer, err))
	}
	endpoint := op.Endpoint()
	if endpoint.AuthURL == "" || endpoint.TokenURL == "" {
		return nil, p.unavailable(fmt.Errorf("oidc: discovery document of %s lacks the authorization or token endpoint", p.cfg.Issuer))
	}
	// Say how to send the client secret instead of letting oauth2 guess: its
	// guessing retries a failed exchange the other way, and the second try
	// then fails on the already spent code, hiding the first error.
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if len(meta.AuthMethods) > 0 && !slices.Contains(meta.AuthMethods, "client_secret_basic") {
		if !slices.Contains(meta.AuthMethods, "client_secret_post") {
			return nil, fmt.Errorf("oidc: %s supports neither client_secret_basic nor client_secret_post (it offers %q)", p.cfg.Issuer, meta.AuthMethods)
		}
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return &endpoints{
		oauth: &oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  p.cfg.RedirectURL,
			Scopes:       p.cfg.Scopes,
		},
		verifier: op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Clock.Now}),
	}, nil
}

// unavailable marks cause as the provider being out of reach.
func (p *Provider) unavailable(cause error) error {
	return fail(runbooker.EUNAVAILABLE, "the identity provider cannot be reached; try again shortly", cause)
}

// httpContext carries the configured HTTP client to oauth2's token exchange.
func (p *Provider) httpContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, p.cfg.HTTPClient)
}

// failure is an error with two faces: a runbooker.Error whose message the
// server may show the person signing in, and the detailed cause for the log.
// errors.As finds the runbooker.Error, so runbooker.ErrorCode and
// runbooker.ErrorMessage work on it; errors.Is and errors.As also reach the
// cause (for example *oidc.TokenExpiredError).
type failure struct {
	safe  *runbooker.Error
	cause error
}

// fail returns a failure with a client-safe message and a cause.
func fail(code, message string, cause error) error {
	return &failure{safe: runbooker.Errorf(code, "%s", message), cause: cause}
}

// Error returns the safe message followed by the cause, for logs.
func (f *failure) Error() string {
	if f.cause == nil {
		return "oidc: " + f.safe.Message
	}
	return f.safe.Message + ": " + f.cause.Error()
}

// Unwrap exposes both faces to errors.Is and errors.As.
func (f *failure) Unwrap() []error {
	if f.cause == nil {
		return []error{f.safe}
	}
	return []error{f.safe, f.cause}
}
