// Package entratest is a Microsoft Entra token endpoint on loopback for
// tests: it checks a client-credentials request as Entra does (the form,
// the client secret, or the client assertion's RS256 signature, x5t and
// claims against the test certificate) and answers with Entra's documented
// token and error shapes. It counts the tokens it issued.
package entratest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Authority is the loopback token endpoint of one application in one tenant.
type Authority struct {
	URL      string // the authority, as an identity setting's "authority"
	TenantID string
	ClientID string
	Secret   string // the client secret it accepts
	// CertPEM holds the certificate and its private key, as a certificate
	// asset's "pem"; assertions must be signed by that key.
	CertPEM string
	Cert    *x509.Certificate

	mu     sync.Mutex
	issued int
	last   map[string][]string // the form of the last request
	tokens []string
	// ExpiresIn is the lifetime of issued tokens (default 3599 s).
	ExpiresIn int
}

// Start runs an authority until the test ends.
func Start(t testing.TB) *Authority {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "runbooker identity test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	a := &Authority{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: "8a6a4b2e-0d2c-4c7e-9a51-3f1c2d4e5f60",
		Secret: "test~client~secret~" + strings.Repeat("x", 10), Cert: cert, ExpiresIn: 3599,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
			string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// TokenURL is the v2.0 token endpoint.
func (a *Authority) TokenURL() string { return a.URL + "/" + a.TenantID + "/oauth2/v2.0/token" }

// Issued is how many tokens the authority has issued.
func (a *Authority) Issued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.issued
}

// Tokens are the access tokens issued, oldest first.
func (a *Authority) Tokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.tokens...)
}

// LastForm is the form of the last token request.
func (a *Authority) LastForm() map[string][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// refuse answers with Entra's error shape.
func refuse(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: 0000\r\nCorrelation ID: 0000\r\nTimestamp: %s", aadsts, desc, time.Now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes": []int{aadsts}, "timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id": "00000000-0000-0000-0000-000000000000", "correlation_id": "00000000-0000-0000-0000-000000000000",
		"error_uri": "https://login.microsoftonline.com/error?code=" + fmt.Sprint(aadsts),
	})
}

func (a *Authority) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/"+a.TenantID+"/oauth2/v2.0/token" {
		refuse(w, http.StatusBadRequest, "invalid_request", 900023, "Specified tenant identifier is neither a valid DirectoryId nor a valid domain name.")
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		refuse(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	a.mu.Lock()
	a.last = f
	a.mu.Unlock()
	switch {
	case f.Get("grant_type") != "client_credentials":
		refuse(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	case f.Get("client_id") != a.ClientID:
		refuse(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+f.Get("client_id")+"' was not found in the directory.")
		return
	case !strings.HasSuffix(f.Get("scope"), "/.default") || strings.Count(f.Get("scope"), " ") > 0:
		refuse(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
		return
	}
	if s := f.Get("client_secret"); s != "" {
		if s != a.Secret {
			refuse(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+a.ClientID+"'.")
			return
		}
	} else if f.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		if why := a.checkAssertion(f.Get("client_assertion")); why != "" {
			refuse(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: "+why)
			return
		}
	} else {
		refuse(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	a.mu.Lock()
	a.issued++
	tok := fmt.Sprintf("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.test-token-%d-%s", a.issued, base64.RawURLEncoding.EncodeToString([]byte(f.Get("scope"))))
	a.tokens = append(a.tokens, tok)
	exp := a.ExpiresIn
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": exp, "ext_expires_in": exp, "access_token": tok})
}

// checkAssertion verifies a client assertion as Entra does; it returns why
// it is refused, or "".
func (a *Authority) checkAssertion(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "not a JWT"
	}
	var h struct {
		Alg, Typ, X5t string
	}
	var c struct {
		Aud, Iss, Sub, Jti string
		Nbf, Exp, Iat      int64
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		return "malformed JWT"
	}
	thumb := sha1.Sum(a.Cert.Raw)
	if h.Alg != "RS256" || h.X5t != base64.RawURLEncoding.EncodeToString(thumb[:]) {
		return fmt.Sprintf("header alg %q x5t %q does not name the app's certificate", h.Alg, h.X5t)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(a.Cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		return "bad signature"
	}
	now := time.Now().Unix()
	switch {
	case c.Aud != a.TokenURL():
		return "aud " + c.Aud
	case c.Iss != a.ClientID || c.Sub != a.ClientID:
		return "iss/sub are not the client id"
	case c.Jti == "":
		return "no jti"
	case c.Nbf > now+300 || c.Exp < now-300 || c.Exp-c.Nbf > 3600:
		return "outside its validity"
	}
	return ""
}
