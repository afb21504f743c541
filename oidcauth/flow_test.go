package oidcauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/oidcauth"
	"github.com/runbooker/runbooker/oidcauth/oidctest"
)

// callback is the redirect URL the tests register. Nothing listens there:
// the tests read the provider's redirect from its Location header.
const callback = "http://127.0.0.1:9/auth/callback"

var alice = oidctest.Claims{
	Sub:               "0f6c1a52-alice",
	PreferredUsername: "alice@contoso.com",
	Name:              "Alice Example",
	Email:             "alice.example@contoso.com",
	Groups:            []string{"g-helpdesk", "g-admins"},
}

// newPair starts a test provider with alice signed in and a Provider (the
// relying party) configured for it.
func newPair(t *testing.T, opts oidctest.Options, edit ...func(*oidcauth.Config)) (*oidctest.Provider, *oidcauth.Provider) {
	t.Helper()
	opts.RedirectURIs = append(opts.RedirectURIs, callback)
	idp := oidctest.New(t, opts)
	idp.SetUser(alice)
	cfg := configFor(idp)
	for _, e := range edit {
		e(&cfg)
	}
	rp, err := oidcauth.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return idp, rp
}

// configFor is a Config pointing at idp.
func configFor(idp *oidctest.Provider) oidcauth.Config {
	return oidcauth.Config{
		Issuer:       idp.Issuer(),
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
		RedirectURL:  callback,
		HTTPClient:   idp.Client(),
	}
}

// authorize plays the browser: it asks the authorization endpoint and,
// instead of following the redirect, returns the query the provider sends
// to the callback.
func authorize(t *testing.T, idp *oidctest.Provider, authURL string) url.Values {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := idp.Client().Do(req)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %s, want 302", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("authorize: Location: %v", err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		t.Fatalf("authorize redirected to %s, want %s", got, callback)
	}
	return loc.Query()
}

// signIn runs one whole sign-in and returns Finish's answer.
func signIn(t *testing.T, idp *oidctest.Provider, rp *oidcauth.Provider) (*oidcauth.Identity, error) {
	t.Helper()
	authURL, pending, err := rp.Begin(t.Context())
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return rp.Finish(t.Context(), pending, authorize(t, idp, authURL))
}

// wantFailure checks err's runbooker code and that its log text contains
// each of details.
func wantFailure(t *testing.T, err error, code string, details ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := runbooker.ErrorCode(err); got != code {
		t.Errorf("code %q, want %q (err: %v)", got, code, err)
	}
	for _, d := range details {
		if !strings.Contains(err.Error(), d) {
			t.Errorf("error %q does not mention %q", err, d)
		}
	}
}

func TestCodeFlow(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{})
	authURL, pending, err := rp.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	q := mustParse(t, authURL).Query()
	for k, want := range map[string]string{
		"response_type":         "code",
		"client_id":             idp.ClientID,
		"redirect_uri":          callback,
		"state":                 pending.State,
		"nonce":                 pending.Nonce,
		"code_challenge_method": "S256",
		"code_challenge":        oauth2.S256ChallengeFromVerifier(pending.Verifier),
		"scope":                 "openid profile email",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("auth URL %s = %q, want %q", k, got, want)
		}
	}
	if q.Has("code_verifier") {
		t.Error("auth URL carries the PKCE verifier itself")
	}

	id, err := rp.Finish(t.Context(), pending, authorize(t, idp, authURL))
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want := oidcauth.Identity{Subject: alice.Sub, UPN: alice.PreferredUsername, Name: alice.Name, Email: alice.Email, Groups: alice.Groups}
	if id.Subject != want.Subject || id.UPN != want.UPN || id.Name != want.Name || id.Email != want.Email ||
		!slices.Equal(id.Groups, want.Groups) || id.GroupsOverage {
		t.Errorf("identity %+v, want %+v", *id, want)
	}
}

func TestBeginIsFreshEachTime(t *testing.T) {
	_, rp := newPair(t, oidctest.Options{})
	_, a, _ := rp.Begin(t.Context())
	_, b, _ := rp.Begin(t.Context())
	if a.State == b.State || a.Nonce == b.Nonce || a.Verifier == b.Verifier || a.State == a.Nonce {
		t.Errorf("secrets repeat: %+v %+v", a, b)
	}
}

func TestClientSecretPost(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{AuthMethods: []string{"client_secret_post"}})
	if _, err := signIn(t, idp, rp); err != nil {
		t.Fatalf("sign-in with client_secret_post: %v", err)
	}
}

func TestTLSProviderNeedsTheConfiguredClient(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{TLS: true})
	if !strings.HasPrefix(idp.Issuer(), "https://") {
		t.Fatalf("issuer %s is not https", idp.Issuer())
	}
	if _, err := signIn(t, idp, rp); err != nil {
		t.Fatalf("sign-in over TLS: %v", err)
	}
	cfg := configFor(idp)
	cfg.HTTPClient = nil // the default client does not trust httptest's CA
	_, err := oidcauth.New(t.Context(), cfg)
	wantFailure(t, err, runbooker.EUNAVAILABLE, idp.Issuer(), "certificate")
}

func TestReplayedCode(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{})
	authURL, pending, _ := rp.Begin(t.Context())
	q := authorize(t, idp, authURL)
	if _, err := rp.Finish(t.Context(), pending, q); err != nil {
		t.Fatalf("first Finish: %v", err)
	}
	_, err := rp.Finish(t.Context(), pending, q)
	wantFailure(t, err, runbooker.EUNAUTHORIZED, "invalid_grant", "already used")
}

func TestWrongState(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{})
	authURL, pending, _ := rp.Begin(t.Context())
	q := authorize(t, idp, authURL)
	for name, state := range map[string]string{"other": "x" + pending.State, "missing": ""} {
		t.Run(name, func(t *testing.T) {
			q2 := url.Values{}
			for k, v := range q {
				q2[k] = v
			}
			q2.Set("state", state)
			_, err := rp.Finish(t.Context(), pending, q2)
			wantFailure(t, err, runbooker.EUNAUTHORIZED, "state mismatch")
		})
	}
	// Another sign-in's pending does not fit either.
	_, other, _ := rp.Begin(t.Context())
	_, err := rp.Finish(t.Context(), other, q)
	wantFailure(t, err, runbooker.EUNAUTHORIZED, "state mismatch")
	// A pending that never was (no cookie).
	_, err = rp.Finish(t.Context(), oidcauth.Pending{}, q)
	wantFailure(t, err, runbooker.EUNAUTHORIZED, "incomplete")
}

func TestCallbackFromAnotherIssuer(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{})
	authURL, pending, _ := rp.Begin(t.Context())
	q := authorize(t, idp, authURL)
	if q.Get("iss") != idp.Issuer() {
		t.Fatalf("callback iss %q, want %q", q.Get("iss"), idp.Issuer())
	}
	q.Set("iss", "https://evil.example")
	_, err := rp.Finish(t.Context(), pending, q)
	wantFailure(t, err, runbooker.EUNAUTHORIZED, "evil.example")
}

// TestProviderChecksPKCE proves the test provider enforces PKCE, so the
// other tests' passing means the verifier really travelled.
func TestProviderChecksPKCE(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{})

	t.Run("wrong verifier", func(t *testing.T) {
		authURL, pending, _ := rp.Begin(t.Context())
		q := authorize(t, idp, authURL)
		pending.Verifier = oauth2.GenerateVerifier()
		_, err := rp.Finish(t.Context(), pending, q)
		wantFailure(t, err, runbooker.EUNAUTHORIZED, "invalid_grant", "code_verifier does not match")
	})

	t.Run("missing verifier", func(t *testing.T) {
		// Finish refuses a pending without a verifier by itself, so go to
		// the token endpoint directly, as a client without PKCE would.
		authURL, _, _ := rp.Begin(t.Context())
		code := authorize(t, idp, authURL).Get("code")
		plain := oauth2.Config{
			ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: callback,
			Endpoint: oauth2.Endpoint{TokenURL: idp.Issuer() + "/token", AuthStyle: oauth2.AuthStyleInHeader},
		}
		ctx := context.WithValue(t.Context(), oauth2.HTTPClient, idp.Client())
		_, err := plain.Exchange(ctx, code)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || !strings.Contains(re.ErrorDescription, "code_verifier is missing") {
			t.Fatalf("exchange without verifier: %v", err)
		}
	})

	t.Run("no challenge", func(t *testing.T) {
		authURL, _, _ := rp.Begin(t.Context())
		u := mustParse(t, authURL)
		q := u.Query()
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		u.RawQuery = q.Encode()
		back := authorize(t, idp, u.String())
		if back.Get("error") != "invalid_request" || back.Has("code") {
			t.Fatalf("authorize without PKCE answered %v", back)
		}
	})

	t.Run("plain method", func(t *testing.T) {
		authURL, pending, _ := rp.Begin(t.Context())
		u := mustParse(t, authURL)
		q := u.Query()
		q.Set("code_challenge_method", "plain")
		q.Set("code_challenge", pending.Verifier)
		u.RawQuery = q.Encode()
		if back := authorize(t, idp, u.String()); back.Get("error") != "invalid_request" {
			t.Fatalf("authorize with plain PKCE answered %v", back)
		}
	})
}

func TestBadIDTokens(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{})
	for _, tc := range []struct {
		name   string
		fault  oidctest.Fault
		detail string
	}{
		{"wrong audience", oidctest.WrongAudience, "audience"},
		{"expired", oidctest.Expired, "expired"},
		{"wrong nonce", oidctest.WrongNonce, "nonce does not match"},
		{"foreign key", oidctest.ForeignKey, "signature"},
		{"wrong issuer", oidctest.WrongIssuer, "different provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.SetFault(tc.fault)
			t.Cleanup(func() { idp.SetFault(oidctest.NoFault) })
			id, err := signIn(t, idp, rp)
			if id != nil {
				t.Errorf("got identity %+v", *id)
			}
			wantFailure(t, err, runbooker.EUNAUTHORIZED, tc.detail)
			if msg := runbooker.ErrorMessage(err); !strings.Contains(msg, "ID token is not valid") {
				t.Errorf("message for the person: %q", msg)
			}
			if tc.fault == oidctest.Expired {
				var expired *oidc.TokenExpiredError
				if !errors.As(err, &expired) {
					t.Errorf("expired token error %v is no *oidc.TokenExpiredError", err)
				}
			}
		})
	}
	// And good tokens again afterwards.
	if _, err := signIn(t, idp, rp); err != nil {
		t.Fatalf("sign-in after faults: %v", err)
	}
}

func TestAccessDenied(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{})
	const why = "AADSTS50105: The signed in user is not assigned to a role for the application."
	idp.Deny(why)
	_, err := signIn(t, idp, rp)
	wantFailure(t, err, runbooker.EFORBIDDEN, "access_denied")
	if msg := runbooker.ErrorMessage(err); !strings.Contains(msg, why) || !strings.Contains(msg, "access_denied") {
		t.Errorf("message for the person %q lacks the provider's description", msg)
	}
}

func TestProviderErrorIsSanitised(t *testing.T) {
	_, rp := newPair(t, oidctest.Options{})
	_, pending, _ := rp.Begin(t.Context())
	q := url.Values{
		"state":             {pending.State},
		"error":             {"server_error"},
		"error_description": {"line one\r\nline two\x00" + strings.Repeat("x", 1000)},
	}
	_, err := rp.Finish(t.Context(), pending, q)
	wantFailure(t, err, runbooker.EUNAVAILABLE, "server_error")
	msg := runbooker.ErrorMessage(err)
	if strings.ContainsAny(msg, "\r\n\x00") || len(msg) > 500 {
		t.Errorf("message not sanitised: %q", msg)
	}
}

func TestNoUserSignedIn(t *testing.T) {
	idp := oidctest.New(t, oidctest.Options{RedirectURIs: []string{callback}})
	rp, err := oidcauth.New(t.Context(), configFor(idp))
	if err != nil {
		t.Fatal(err)
	}
	_, err = signIn(t, idp, rp)
	wantFailure(t, err, runbooker.EUNAUTHORIZED, "login_required")
}

func TestAuthorizeRejectsUnknownClientAndRedirect(t *testing.T) {
	idp, rp := newPair(t, oidctest.Options{})
	authURL, _, _ := rp.Begin(t.Context())
	for name, edit := range map[string]func(url.Values){
		"client":   func(q url.Values) { q.Set("client_id", "intruder") },
		"redirect": func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
	} {
		t.Run(name, func(t *testing.T) {
			u := mustParse(t, authURL)
			q := u.Query()
			edit(q)
			u.RawQuery = q.Encode()
			resp, err := idp.Client().Get(u.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %s, Location %q: want 400 without a redirect", resp.Status, resp.Header.Get("Location"))
			}
		})
	}
}

func TestWrongClientSecret(t *testing.T) {
	idp, _ := newPair(t, oidctest.Options{})
	cfg := configFor(idp)
	cfg.ClientSecret = "not-the-secret"
	rp, err := oidcauth.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = signIn(t, idp, rp)
	wantFailure(t, err, runbooker.EUNAUTHORIZED, "invalid_client")
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
