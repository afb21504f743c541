package oidcauth_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/oidcauth"
	"github.com/runbooker/runbooker/oidcauth/oidctest"
)

func TestValidate(t *testing.T) {
	good := oidcauth.Config{
		Issuer:       "https://login.example.com/tenant/v2.0",
		ClientID:     "runbooker",
		ClientSecret: "s3cret",
		RedirectURL:  "https://runbooker.example.com/auth/callback",
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*oidcauth.Config)
		want string // in the error; "" means valid
	}{
		{"no issuer", func(c *oidcauth.Config) { c.Issuer = "" }, "issuer URL is required"},
		{"http issuer", func(c *oidcauth.Config) { c.Issuer = "http://login.example.com" }, "must use https"},
		{"relative issuer", func(c *oidcauth.Config) { c.Issuer = "login.example.com" }, "absolute"},
		{"issuer with query", func(c *oidcauth.Config) { c.Issuer = "https://login.example.com/?tenant=a" }, "query"},
		{"issuer with fragment", func(c *oidcauth.Config) { c.Issuer = "https://login.example.com/#x" }, "fragment"},
		{"loopback http issuer", func(c *oidcauth.Config) { c.Issuer = "http://127.0.0.1:5556/dex" }, ""},
		{"localhost http issuer", func(c *oidcauth.Config) { c.Issuer = "http://localhost:8080" }, ""},
		{"ipv6 loopback issuer", func(c *oidcauth.Config) { c.Issuer = "http://[::1]:8080" }, ""},
		{"lookalike host", func(c *oidcauth.Config) { c.Issuer = "http://127.0.0.1.example.com" }, "must use https"},
		{"ftp issuer", func(c *oidcauth.Config) { c.Issuer = "ftp://127.0.0.1" }, "must use https"},
		{"no client id", func(c *oidcauth.Config) { c.ClientID = "" }, "client ID"},
		{"no secret", func(c *oidcauth.Config) { c.ClientSecret = "" }, "client secret"},
		{"no redirect", func(c *oidcauth.Config) { c.RedirectURL = "" }, "redirect URL is required"},
		{"http redirect", func(c *oidcauth.Config) { c.RedirectURL = "http://runbooker.example.com/cb" }, "redirect URL"},
		{"scopes without openid", func(c *oidcauth.Config) { c.Scopes = []string{"profile"} }, "openid"},
		{"scope with space", func(c *oidcauth.Config) { c.Scopes = []string{"openid", "a b"} }, "white space"},
		{"own scopes", func(c *oidcauth.Config) { c.Scopes = []string{"openid", "offline_access"} }, ""},
		{"claim with space", func(c *oidcauth.Config) { c.UPNClaim = "user name" }, "white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// closedAddress returns a loopback URL where nothing listens.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestDiscoveryFailure(t *testing.T) {
	t.Run("nothing listening", func(t *testing.T) {
		issuer := closedAddress(t)
		_, err := oidcauth.New(t.Context(), oidcauth.Config{Issuer: issuer, ClientID: "c", ClientSecret: "s", RedirectURL: callback})
		wantFailure(t, err, runbooker.EUNAVAILABLE, "discovery at "+issuer)
	})
	t.Run("provider down", func(t *testing.T) {
		idp := oidctest.New(t, oidctest.Options{RedirectURIs: []string{callback}})
		idp.SetAvailable(false)
		_, err := oidcauth.New(t.Context(), configFor(idp))
		wantFailure(t, err, runbooker.EUNAVAILABLE, "discovery at "+idp.Issuer(), "503")
	})
	t.Run("issuer mismatch", func(t *testing.T) {
		idp := oidctest.New(t, oidctest.Options{RedirectURIs: []string{callback}})
		cfg := configFor(idp)
		cfg.Issuer += "/"
		_, err := oidcauth.New(t.Context(), cfg)
		wantFailure(t, err, runbooker.EUNAVAILABLE, "configure exactly that issuer", `names itself "`+idp.Issuer()+`"`)
	})
	t.Run("invalid config", func(t *testing.T) {
		_, err := oidcauth.New(t.Context(), oidcauth.Config{Issuer: "http://idp.example.com"})
		if err == nil || !strings.Contains(err.Error(), "https") {
			t.Errorf("New with an http issuer: %v", err)
		}
		if _, err := oidcauth.NewLazy(oidcauth.Config{}); err == nil {
			t.Error("NewLazy accepted an empty config")
		}
	})
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLazyProviderRecovers(t *testing.T) {
	idp := oidctest.New(t, oidctest.Options{RedirectURIs: []string{callback}})
	idp.SetUser(alice)
	idp.SetAvailable(false)
	clock := &fakeClock{now: time.Now()}
	cfg := configFor(idp)
	cfg.Clock = clock.Now

	rp, err := oidcauth.NewLazy(cfg)
	if err != nil {
		t.Fatalf("NewLazy while the provider is down: %v", err)
	}
	_, _, err = rp.Begin(t.Context())
	wantFailure(t, err, runbooker.EUNAVAILABLE, idp.Issuer(), "503")
	if msg := runbooker.ErrorMessage(err); !strings.Contains(msg, "cannot be reached") {
		t.Errorf("message for the person: %q", msg)
	}

	// Back up, but within the retry interval the last failure stands, so a
	// burst of sign-ins does not hammer a recovering provider.
	idp.SetAvailable(true)
	_, _, err = rp.Begin(t.Context())
	wantFailure(t, err, runbooker.EUNAVAILABLE)
	if err := rp.Ready(t.Context()); err == nil {
		t.Error("Ready within the retry interval succeeded")
	}

	clock.Advance(6 * time.Second)
	if err := rp.Ready(t.Context()); err != nil {
		t.Fatalf("Ready after the provider came back: %v", err)
	}
	id, err := signIn(t, idp, rp)
	if err != nil {
		t.Fatalf("sign-in after recovery: %v", err)
	}
	if id.UPN != alice.PreferredUsername {
		t.Errorf("UPN %q", id.UPN)
	}

	// Once discovered, the provider going down again affects only calls
	// that need it: Begin still works, Finish reports the outage.
	authURL, pending, err := rp.Begin(t.Context())
	if err != nil {
		t.Fatalf("Begin with discovery done: %v", err)
	}
	q := authorize(t, idp, authURL)
	idp.SetAvailable(false)
	_, err = rp.Finish(t.Context(), pending, q)
	wantFailure(t, err, runbooker.EUNAVAILABLE, "code exchange", "503")
}

func TestLazyConcurrentFirstUse(t *testing.T) {
	idp := oidctest.New(t, oidctest.Options{RedirectURIs: []string{callback}})
	idp.SetUser(alice)
	rp, err := oidcauth.NewLazy(configFor(idp))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, _, err := rp.Begin(t.Context())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Begin: %v", err)
		}
	}
	if _, err := signIn(t, idp, rp); err != nil {
		t.Fatal(err)
	}
}

func TestIdentityClaims(t *testing.T) {
	overage := map[string]any{
		"_claim_names":   map[string]any{"groups": "src1"},
		"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.example.com/v1.0/users/x/getMemberObjects"}},
	}
	for _, tc := range []struct {
		name        string
		claims      oidctest.Claims
		upnClaim    string
		groupsClaim string
		wantUPN     string
		wantGroups  []string
		wantOverage bool
		wantErr     string
	}{
		{name: "preferred_username first",
			claims:  oidctest.Claims{Sub: "1", PreferredUsername: "a@x", Email: "mail@x", Extra: map[string]any{"upn": "upn@x"}},
			wantUPN: "a@x"},
		{name: "then upn",
			claims:  oidctest.Claims{Sub: "1", Email: "mail@x", Extra: map[string]any{"upn": "upn@x"}},
			wantUPN: "upn@x"},
		{name: "then email",
			claims:  oidctest.Claims{Sub: "1", Email: "mail@x"},
			wantUPN: "mail@x"},
		{name: "none",
			claims:  oidctest.Claims{Sub: "1", Name: "Nobody"},
			wantErr: "preferred_username"},
		{name: "configured claim only",
			claims:   oidctest.Claims{Sub: "1", PreferredUsername: "a@x", Extra: map[string]any{"samAccountName": "CONTOSO\\a"}},
			upnClaim: "samAccountName", wantUPN: "CONTOSO\\a"},
		{name: "configured claim missing",
			claims:   oidctest.Claims{Sub: "1", PreferredUsername: "a@x"},
			upnClaim: "upn", wantErr: `"upn"`},
		{name: "no groups claim",
			claims:  oidctest.Claims{Sub: "1", PreferredUsername: "a@x"},
			wantUPN: "a@x"},
		{name: "one group as a string",
			claims:  oidctest.Claims{Sub: "1", PreferredUsername: "a@x", Extra: map[string]any{"groups": "g1"}},
			wantUPN: "a@x", wantGroups: []string{"g1"}},
		{name: "other groups claim",
			claims:      oidctest.Claims{Sub: "1", PreferredUsername: "a@x", Groups: []string{"ignored"}, Extra: map[string]any{"roles": []string{"r1", "r2"}}},
			groupsClaim: "roles", wantUPN: "a@x", wantGroups: []string{"r1", "r2"}},
		{name: "overage",
			claims:  oidctest.Claims{Sub: "1", PreferredUsername: "a@x", Extra: overage},
			wantUPN: "a@x", wantOverage: true},
		{name: "hasgroups",
			claims:  oidctest.Claims{Sub: "1", PreferredUsername: "a@x", Extra: map[string]any{"hasgroups": true}},
			wantUPN: "a@x", wantOverage: true},
		{name: "groups of numbers",
			claims:  oidctest.Claims{Sub: "1", PreferredUsername: "a@x", Extra: map[string]any{"groups": []int{1, 2}}},
			wantErr: "neither a string nor a list"},
		{name: "no subject",
			claims:  oidctest.Claims{PreferredUsername: "a@x"},
			wantErr: "no sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp, rp := newPair(t, oidctest.Options{}, func(c *oidcauth.Config) {
				c.UPNClaim, c.GroupsClaim = tc.upnClaim, tc.groupsClaim
			})
			idp.SetUser(tc.claims)
			id, err := signIn(t, idp, rp)
			if tc.wantErr != "" {
				wantFailure(t, err, runbooker.EUNAUTHORIZED, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.UPN != tc.wantUPN || id.GroupsOverage != tc.wantOverage || strings.Join(id.Groups, ",") != strings.Join(tc.wantGroups, ",") {
				t.Errorf("identity %+v; want UPN %q, groups %q, overage %v", *id, tc.wantUPN, tc.wantGroups, tc.wantOverage)
			}
		})
	}
}
