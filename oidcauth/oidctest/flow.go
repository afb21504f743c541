package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// authorize is the authorization endpoint. Problems with the client or the
// redirect URI get an error page, as the spec demands (redirecting there
// would make the provider an open redirector); all others go back to the
// client as error parameters.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirectURI := q.Get("redirect_uri")
	p.mu.Lock()
	known := p.redirects[redirectURI]
	p.mu.Unlock()
	if q.Get("client_id") != p.ClientID {
		http.Error(w, "oidctest: unknown client_id", http.StatusBadRequest)
		return
	}
	if !known {
		http.Error(w, "oidctest: redirect_uri is not registered for this client", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(redirectURI)
		v := u.Query()
		for k, vs := range params {
			v[k] = vs
		}
		v.Set("iss", p.Issuer())
		if s := q.Get("state"); s != "" {
			v.Set("state", s)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	refuse := func(code, description string) {
		back(url.Values{"error": {code}, "error_description": {description}})
	}
	switch {
	case q.Get("response_type") != "code":
		refuse("unsupported_response_type", "only response_type=code is supported")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		refuse("invalid_scope", "the openid scope is required")
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		refuse("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.denial != nil {
		refuse("access_denied", *p.denial)
		return
	}
	if p.user == nil {
		refuse("login_required", "oidctest: no user is set (call SetUser)")
		return
	}
	code := rand.Text()
	p.codes[code] = grant{
		clientID:    p.ClientID,
		redirectURI: redirectURI,
		challenge:   q.Get("code_challenge"),
		nonce:       q.Get("nonce"),
		claims:      *p.user,
		expires:     time.Now().Add(p.opts.CodeTTL),
	}
	back(url.Values{"code": {code}})
}

// token is the token endpoint: it authenticates the client, redeems the
// code once and checks the redirect URI and the PKCE verifier.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	if status, code, why := p.authenticate(r); code != "" {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		tokenError(w, status, code, why)
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported", gt))
		return
	}

	p.mu.Lock()
	code := r.PostForm.Get("code")
	g, ok := p.codes[code]
	delete(p.codes, code) // one use, whatever happens next
	fault := p.fault
	p.mu.Unlock()

	verifier := r.PostForm.Get("code_verifier")
	switch {
	case !ok:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code is unknown or was already used")
	case time.Now().After(g.expires):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code has expired")
	case g.clientID != p.ClientID:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client")
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
	case verifier == "":
		tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier is missing (PKCE)")
	case !pkceMatches(verifier, g.challenge):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge (PKCE)")
	default:
		idToken, err := p.idToken(g, fault)
		if err != nil {
			tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": rand.Text(),
			"token_type":   "Bearer",
			"expires_in":   int(p.opts.TokenTTL / time.Second),
			"id_token":     idToken,
		})
	}
}

// authenticate checks the client's credentials, sent in the Authorization
// header (client_secret_basic) or the form (client_secret_post), but not
// both. It returns an OAuth error code when they are wrong.
func (p *Provider) authenticate(r *http.Request) (status int, code, why string) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Get("client_secret") != "" {
			return http.StatusBadRequest, "invalid_request", "client credentials sent twice"
		}
		if !slices.Contains(p.opts.AuthMethods, "client_secret_basic") {
			return http.StatusUnauthorized, "invalid_client", "client_secret_basic is not allowed"
		}
		// RFC 6749 §2.3.1: both halves are form-encoded before base64.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return http.StatusUnauthorized, "invalid_client", "malformed basic credentials"
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		if secret != "" && !slices.Contains(p.opts.AuthMethods, "client_secret_post") {
			return http.StatusUnauthorized, "invalid_client", "client_secret_post is not allowed"
		}
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		return http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret"
	}
	return 0, "", ""
}

// pkceMatches reports whether verifier hashes (S256) to challenge.
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// idToken signs the ID token for g, spoiled by fault.
func (p *Provider) idToken(g grant, fault Fault) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss": p.Issuer(),
		"sub": g.claims.Sub,
		"aud": p.ClientID,
		"iat": now.Unix(),
		"exp": now.Add(p.opts.TokenTTL).Unix(),
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	for name, v := range map[string]string{
		"preferred_username": g.claims.PreferredUsername,
		"name":               g.claims.Name,
		"email":              g.claims.Email,
	} {
		if v != "" {
			claims[name] = v
		}
	}
	if g.claims.Groups != nil {
		claims["groups"] = g.claims.Groups
	}
	maps.Copy(claims, g.claims.Extra)

	key := p.key
	switch fault {
	case WrongAudience:
		claims["aud"] = "someone-else"
	case Expired:
		claims["iat"] = now.Add(-2 * time.Hour).Unix()
		claims["exp"] = now.Add(-time.Hour).Unix()
	case WrongNonce:
		claims["nonce"] = "not-" + g.nonce
	case WrongIssuer:
		claims["iss"] = p.Issuer() + "/elsewhere"
	case ForeignKey:
		var err error
		if key, err = p.foreignKey(); err != nil {
			return "", err
		}
	}
	return sign(key, p.kid, claims)
}

// foreignKey returns a second RSA key that the JWKS never shows.
func (p *Provider) foreignKey() (*rsa.PrivateKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.foreign == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		p.foreign = k
	}
	return p.foreign, nil
}

// sign makes a compact RS256 JWS of claims with key, naming kid.
func sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("oidctest: signer: %w", err)
	}
	payload, err := jsonMarshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oidctest: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// tokenError writes an RFC 6749 §5.2 error response.
func tokenError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
