package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/oidcauth"
	"github.com/runbooker/runbooker/oidcauth/oidctest"
)

// TestOIDCSignin signs a person in through a loopback OpenID Connect
// provider: discovery, the code flow with PKCE, the callback, and a
// session whose groups join the sign-in's groups claim to the directory's.
func TestOIDCSignin(t *testing.T) {
	s := permServer(t)
	idp := oidctest.New(t, oidctest.Options{})
	callback := s.url + "/api/v1/auth/oidc/callback"
	idp.AllowRedirectURI(callback)
	p, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: idp.Issuer(), ClientID: idp.ClientID,
		ClientSecret: idp.ClientSecret, RedirectURL: callback})
	if err != nil {
		t.Fatal(err)
	}
	s.m.HTTP.OIDC = p
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// signIn walks the redirects a browser would follow and returns the
	// server's last answer.
	signIn := func() *http.Response {
		t.Helper()
		resp, err := browser.Get(s.url + "/api/v1/auth/oidc/login?next=/jobs")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		auth := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(auth, idp.Issuer()) || !strings.Contains(auth, "code_challenge_method=S256") {
			t.Fatalf("login: %d to %q", resp.StatusCode, auth)
		}
		resp, err = idp.Client().Get(auth)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back := resp.Header.Get("Location")
		if !strings.HasPrefix(back, callback) {
			t.Fatalf("the provider sent the browser to %q", back)
		}
		resp, err = browser.Get(back)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	idp.SetUser(oidctest.Claims{Sub: "sub-1", PreferredUsername: "ussup@contoso.com", Name: "US supporter", Groups: []string{"g-from-idp"}})
	resp := signIn()
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs" {
		t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = browser.Get(s.url + "/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	var me rbhttp.MeView
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	groups := strings.Join(me.Groups, ",")
	if me.UPN != "ussup@contoso.com" || me.Method != "oidc" || !strings.Contains(groups, "g-from-idp") || !strings.Contains(groups, "g-ussup") {
		t.Errorf("signed in as %+v", me)
	}
	if !strings.Contains(strings.Join(rightNames(me), ","), "CanRunRunbooks") {
		t.Errorf("rights of the US supporter (Runbook Runner through g-ussup): %v", me.Rights)
	}
	// The provider refuses: the server says why and records the failure.
	idp.Deny("the user declined")
	resp = signIn()
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a refused sign-in answered %d", resp.StatusCode)
	}
	page, err := s.client.Audit(context.Background(), runbooker.AuditFilter{Action: "signin."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Entries {
		got = append(got, e.Action+" "+e.Actor+" "+string(e.Detail))
	}
	all := strings.Join(got, "\n")
	if !strings.Contains(all, `signin.success ussup@contoso.com {"method":"oidc"}`) || !strings.Contains(all, "signin.failure") || !strings.Contains(all, "declined") {
		t.Errorf("audit of the OIDC sign-ins:\n%s", all)
	}
	// A callback nobody began is refused.
	fresh := &http.Client{CheckRedirect: browser.CheckRedirect}
	resp, err = fresh.Get(callback + "?code=x&state=y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a callback without a pending sign-in: %d", resp.StatusCode)
	}
}

func rightNames(me rbhttp.MeView) []string {
	var out []string
	for _, r := range me.Rights {
		out = append(out, string(r))
	}
	return out
}
