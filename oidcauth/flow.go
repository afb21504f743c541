package oidcauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/runbooker/runbooker"
)

// Pending is a sign-in between Begin and Finish: what the server must keep
// (sealed in a short-lived cookie, see Seal) to check the provider's answer.
// All three secrets are fresh per sign-in.
type Pending struct {
	State    string    `json:"s"` // ties the callback to this browser (CSRF)
	Verifier string    `json:"v"` // PKCE code verifier; its S256 hash went to the provider
	Nonce    string    `json:"n"` // must come back inside the ID token (replay)
	Created  time.Time `json:"t"` // when Begin ran, for Open's maxAge
}

// Identity is the signed-in person as the ID token describes them.
type Identity struct {
	Subject string // the provider's stable id of the person ("sub")
	UPN     string // login name, per Config.UPNClaim
	Name    string
	Email   string
	// Groups are the group ids of the groups claim; empty when the provider
	// sends none. Providers that would exceed a token size limit (Entra ID
	// past 200 groups) send an "overage" pointer (_claim_names) instead of
	// the list: then Groups is empty and GroupsOverage is true, and the
	// server should ask the directory for the person's groups.
	Groups        []string
	GroupsOverage bool
}

// Begin starts a sign-in. It returns the provider URL to redirect the
// browser to and the Pending the server keeps until the callback. On a lazy
// Provider whose provider cannot be reached it fails with EUNAVAILABLE.
func (p *Provider) Begin(ctx context.Context) (authURL string, pending Pending, err error) {
	e, err := p.endpoints(ctx)
	if err != nil {
		return "", Pending{}, err
	}
	pending = Pending{
		State:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Nonce:    rand.Text(),
		Created:  p.cfg.Clock.Now(),
	}
	authURL = e.oauth.AuthCodeURL(pending.State,
		oauth2.S256ChallengeOption(pending.Verifier),
		oauth2.SetAuthURLParam("nonce", pending.Nonce))
	return authURL, pending, nil
}

// Finish completes the sign-in that pending began, given the query of the
// provider's redirect to the callback. It checks the state, turns a refusal
// by the provider into an error carrying the provider's description,
// redeems the code with the PKCE verifier, verifies the ID token (signature
// against the provider's keys, issuer, audience, expiry, nonce) and returns
// the identity in it.
//
// Errors carry a runbooker code: EUNAUTHORIZED for a sign-in that must not
// succeed, EFORBIDDEN when the provider denied access, EUNAVAILABLE when the
// provider could not be reached. Their runbooker.ErrorMessage is fit to show
// the person; Error() adds the detail for the log.
func (p *Provider) Finish(ctx context.Context, pending Pending, query url.Values) (*Identity, error) {
	if pending.State == "" || pending.Verifier == "" || pending.Nonce == "" {
		return nil, rejected("no sign-in was started in this browser", errors.New("oidc: pending sign-in is incomplete"))
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(pending.State)) != 1 {
		return nil, rejected("the answer does not belong to the sign-in started in this browser", errors.New("oidc: state mismatch"))
	}
	if iss := query.Get("iss"); iss != "" && iss != p.cfg.Issuer {
		// RFC 9207: the answer comes from another provider (mix-up attack).
		return nil, rejected("the answer came from another identity provider", fmt.Errorf("oidc: callback iss %q is not %q", printable(iss), p.cfg.Issuer))
	}
	if code := query.Get("error"); code != "" {
		return nil, refusal(code, query.Get("error_description"))
	}
	code := query.Get("code")
	if code == "" {
		return nil, rejected("the identity provider sent no code", errors.New("oidc: callback has neither code nor error"))
	}
	e, err := p.endpoints(ctx)
	if err != nil {
		return nil, err
	}

	token, err := e.oauth.Exchange(p.httpContext(ctx), code, oauth2.VerifierOption(pending.Verifier))
	if err != nil {
		return nil, p.exchangeFailure(err)
	}
	rawID, _ := token.Extra("id_token").(string)
	if rawID == "" {
		return nil, rejected("the identity provider sent no ID token", errors.New("oidc: token response has no id_token"))
	}
	idToken, err := e.verifier.Verify(ctx, rawID)
	if err != nil {
		return nil, rejected("the identity provider's ID token is not valid", fmt.Errorf("oidc: ID token from %s: %w", p.cfg.Issuer, err))
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(pending.Nonce)) != 1 {
		return nil, rejected("the identity provider's ID token is not valid", errors.New("oidc: ID token nonce does not match the sign-in's"))
	}
	var claims map[string]json.RawMessage
	if err := idToken.Claims(&claims); err != nil {
		return nil, rejected("the identity provider's ID token is not valid", fmt.Errorf("oidc: ID token claims: %w", err))
	}
	return p.identity(idToken.Subject, claims)
}

// exchangeFailure classifies a failed code exchange: a refusal by the token
// endpoint (4xx with an OAuth error) rejects the sign-in; anything else
// means the provider is out of reach or broken.
func (p *Provider) exchangeFailure(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < http.StatusInternalServerError {
		msg := "the identity provider did not accept the sign-in code"
		if re.ErrorCode != "" {
			msg += ": " + printable(re.ErrorCode)
		}
		if re.ErrorDescription != "" {
			msg += ": " + printable(re.ErrorDescription)
		}
		return rejected(msg, fmt.Errorf("oidc: code exchange at %s: %w", p.cfg.Issuer, err))
	}
	return p.unavailable(fmt.Errorf("oidc: code exchange at %s: %w", p.cfg.Issuer, err))
}

// identity builds the Identity from the verified claims.
func (p *Provider) identity(subject string, claims map[string]json.RawMessage) (*Identity, error) {
	if subject == "" {
		return nil, rejected("the identity provider's ID token names nobody", errors.New("oidc: ID token has no sub"))
	}
	id := &Identity{
		Subject: subject,
		Name:    stringClaim(claims, "name"),
		Email:   stringClaim(claims, "email"),
	}
	names := upnFallbacks
	if p.cfg.UPNClaim != "" {
		names = []string{p.cfg.UPNClaim}
	}
	for _, n := range names {
		if id.UPN = stringClaim(claims, n); id.UPN != "" {
			break
		}
	}
	if id.UPN == "" {
		return nil, rejected("the identity provider did not say who signed in (no user name in the ID token)",
			fmt.Errorf("oidc: ID token has none of the claims %q", names))
	}
	groups, overage, err := groupsClaim(claims, p.cfg.GroupsClaim)
	if err != nil {
		return nil, rejected("the identity provider's ID token is not valid", err)
	}
	id.Groups, id.GroupsOverage = groups, overage
	return id, nil
}

// stringClaim returns the claim name if it is a string, else "".
func stringClaim(claims map[string]json.RawMessage, name string) string {
	var s string
	if raw, ok := claims[name]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// groupsClaim reads the groups claim: a list of strings or, from some
// providers when there is one group, a bare string. When the claim is
// absent but _claim_names points it elsewhere (Entra ID's overage), or
// Entra ID's hasgroups is set, it reports an overage with no groups:
// fetching the groups from the provider's graph API is the directory's job.
func groupsClaim(claims map[string]json.RawMessage, name string) (groups []string, overage bool, err error) {
	raw, ok := claims[name]
	if !ok || string(raw) == "null" {
		var names map[string]json.RawMessage
		if r, ok := claims["_claim_names"]; ok && json.Unmarshal(r, &names) == nil {
			_, overage = names[name]
		}
		var has bool
		if r, ok := claims["hasgroups"]; ok && json.Unmarshal(r, &has) == nil && has {
			overage = true
		}
		return nil, overage, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, false, nil
		}
		return []string{one}, false, nil
	}
	if err := json.Unmarshal(raw, &groups); err != nil {
		return nil, false, fmt.Errorf("oidc: claim %q is neither a string nor a list of strings", name)
	}
	return groups, false, nil
}

// rejected is a sign-in that must not succeed.
func rejected(why string, cause error) error {
	return fail(runbooker.EUNAUTHORIZED, "sign-in failed: "+why+"; please sign in again", cause)
}

// refusal turns the provider's error redirect into an error whose message
// repeats the provider's words, so the person learns why (for example that
// they are not assigned to the application).
func refusal(code, description string) error {
	code, description = printable(code), printable(description)
	msg := "the identity provider refused the sign-in (" + code + ")"
	if description != "" {
		msg += ": " + description
	}
	cause := fmt.Errorf("oidc: provider returned error %q: %q", code, description)
	switch code {
	case "access_denied":
		return fail(runbooker.EFORBIDDEN, msg, cause)
	case "temporarily_unavailable", "server_error":
		return fail(runbooker.EUNAVAILABLE, msg, cause)
	}
	return fail(runbooker.EUNAUTHORIZED, msg, cause)
}

// maxEcho bounds how much of a provider-supplied text is repeated.
const maxEcho = 300

// printable shortens s and drops control characters, since it comes from a
// URL or a response body and ends up in pages and logs.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > maxEcho {
		s = string(r[:maxEcho]) + "…"
	}
	return s
}
