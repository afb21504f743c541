// Package oidcauth signs people in with OpenID Connect: the authorization
// code flow with PKCE (S256) and a nonce, against any provider that offers
// discovery (Microsoft Entra ID, Keycloak, Okta, Google, …).
//
// The server starts a sign-in with Begin, keeps the returned Pending in a
// cookie sealed with Seal (so no server-side storage is needed and any
// server behind a load balancer can take the callback), and finishes it
// with Finish once the provider redirects back. Package oidctest runs a
// small provider on loopback for tests.
package oidcauth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
)

// DefaultGroupsClaim is the groups claim used when Config.GroupsClaim is empty.
const DefaultGroupsClaim = "groups"

// upnFallbacks are tried in order when Config.UPNClaim is empty: the name
// providers usually show to people first, then the Entra ID UPN claim, then
// the e-mail address as the last resort.
var upnFallbacks = []string{"preferred_username", "upn", "email"}

// DefaultScopes are requested when Config.Scopes is empty.
var DefaultScopes = []string{"openid", "profile", "email"}

// defaultHTTPTimeout bounds every call to the provider (discovery, JWKS,
// token exchange) when Config.HTTPClient is nil, so a hanging provider
// cannot hold a sign-in forever.
const defaultHTTPTimeout = 15 * time.Second

// Config says which provider to trust and how this server is registered
// with it. main fills it from flags and validates it once.
type Config struct {
	// Issuer is the provider's issuer URL exactly as its discovery document
	// states it (e.g. https://login.microsoftonline.com/<tenant>/v2.0).
	Issuer string
	// ClientID and ClientSecret are this server's registration at the
	// provider. Runbooker is a confidential client, so the secret is
	// required even though PKCE is used as well.
	ClientID     string
	ClientSecret string
	// RedirectURL is the server's callback URL, registered at the provider.
	RedirectURL string
	// Scopes requested; "openid" must be among them. Empty means
	// DefaultScopes.
	Scopes []string
	// UPNClaim names the claim that carries the person's user principal
	// name. Empty means preferred_username, then upn, then email, whichever
	// the token has first. A claim named here is the only one consulted.
	// Name a claim the provider controls where possible: at some providers
	// people can edit their own e-mail address.
	UPNClaim string
	// GroupsClaim names the claim with the person's group ids. Empty means
	// "groups".
	GroupsClaim string
	// HTTPClient talks to the provider, e.g. one that trusts a private CA.
	// It should have a timeout; nil means a client with a 15 s timeout.
	HTTPClient *http.Client
	// Clock checks token expiry, stamps Pending.Created and paces discovery
	// retries. Nil is the wall clock.
	Clock runbooker.Clock
}

// Validate reports the first thing wrong with c, in words an operator can
// act on. It does not contact the provider.
func (c Config) Validate() error {
	if c.Issuer == "" {
		return errors.New("oidc: issuer URL is required")
	}
	if err := checkURL("issuer", c.Issuer); err != nil {
		return err
	}
	if u, _ := url.Parse(c.Issuer); u.RawQuery != "" {
		return fmt.Errorf("oidc: issuer %q must not have a query", c.Issuer)
	}
	if c.ClientID == "" {
		return errors.New("oidc: client ID is required")
	}
	if c.ClientSecret == "" {
		return errors.New("oidc: client secret is required")
	}
	if c.RedirectURL == "" {
		return errors.New("oidc: redirect URL is required (the server's callback, as registered at the provider)")
	}
	if err := checkURL("redirect URL", c.RedirectURL); err != nil {
		return err
	}
	if len(c.Scopes) > 0 && !slices.Contains(c.Scopes, "openid") {
		return fmt.Errorf("oidc: scopes %q must include openid", c.Scopes)
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("oidc: scope %q is empty or has white space", s)
		}
	}
	for _, claim := range []string{c.UPNClaim, c.GroupsClaim} {
		if strings.ContainsAny(claim, " \t\r\n") {
			return fmt.Errorf("oidc: claim name %q has white space", claim)
		}
	}
	return nil
}

// checkURL requires an absolute https URL without a fragment; plain http is
// allowed only for loopback hosts, where nothing travels over a network.
func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("oidc: %s %q is not a URL: %w", what, raw, err)
	}
	if u.Host == "" || u.Scheme == "" {
		return fmt.Errorf("oidc: %s %q must be an absolute URL", what, raw)
	}
	if u.Fragment != "" {
		return fmt.Errorf("oidc: %s %q must not have a fragment", what, raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("oidc: %s %q must use https (plain http only for a loopback address)", what, raw)
	}
	return nil
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withDefaults returns c with every empty optional field filled in.
func (c Config) withDefaults() Config {
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(DefaultScopes)
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	return c
}
