package entra_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/entra"
	"github.com/runbooker/runbooker/entra/entratest"
)

func TestParseSetting(t *testing.T) {
	for _, tc := range []struct {
		doc, err string
		off      bool
	}{
		{doc: `{}`, off: true},
		{doc: ``, off: true},
		{doc: `{"tenantId": "contoso.onmicrosoft.com", "clientId": "8a6a", "secretAsset": "mi-secret", // comment
		  }`},
		{doc: `{"tenantId": "t", "clientId": "c", "certificateAsset": "mi-cert", "authority": "https://login.microsoftonline.us/"}`},
		{doc: `{"tenantId": "t", "clientId": "c"}`, err: "exactly one"},
		{doc: `{"tenantId": "t", "clientId": "c", "secretAsset": "a", "certificateAsset": "b"}`, err: "exactly one"},
		{doc: `{"tenantId": "../x", "clientId": "c", "secretAsset": "a"}`, err: "tenantId"},
		{doc: `{"tenantId": "t", "clientId": "", "secretAsset": "a"}`, err: "clientId"},
		{doc: `{"tenantId": "t", "clientId": "c", "secretAsset": "a", "authority": "ftp://x"}`, err: "authority"},
		{doc: `{"tenantId": "t", "clientId": "c", "secretAsset": "a", "authority": "https://x/?q=1"}`, err: "authority"},
		{doc: `{"tenantId": "t", "clientId": "c", "secretAsset": "a", "clientSecret": "no"}`, err: "unknown field"},
		{doc: `{"tenantId": `, err: "not valid JSON"},
	} {
		s, err := entra.ParseSetting([]byte(tc.doc))
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(runbooker.ErrorMessage(err), tc.err) {
				t.Errorf("%s: got %v, want an error with %q", tc.doc, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.doc, err)
		case tc.off != (s == nil):
			t.Errorf("%s: setting %+v, off %v", tc.doc, s, tc.off)
		case s != nil && strings.HasSuffix(s.Authority, "/"):
			t.Errorf("%s: authority %q keeps its slash", tc.doc, s.Authority)
		}
	}
	s, _ := entra.ParseSetting([]byte(`{"tenantId": "t", "clientId": "c", "secretAsset": "a"}`))
	if s.Authority != entra.DefaultAuthority || s.TokenURL() != entra.DefaultAuthority+"/t/oauth2/v2.0/token" {
		t.Errorf("default authority: %s %s", s.Authority, s.TokenURL())
	}
	a, b := s.AccountIDFor("default"), s.AccountIDFor("other")
	if a == b || a != s.AccountIDFor("default") || len(a) != 36 {
		t.Errorf("account ids %q %q", a, b)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setting(t *testing.T, a *entratest.Authority, asset string) *entra.Setting {
	t.Helper()
	s, err := entra.ParseSetting([]byte(`{"tenantId": "` + a.TenantID + `", "clientId": "` + a.ClientID + `", ` + asset + `, "authority": "` + a.URL + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestClientSecretFlowAndCache(t *testing.T) {
	a := entratest.Start(t)
	clk := &clock{t: time.Now()}
	is := entra.NewIssuer(entra.IssuerConfig{AllowLocal: true, Now: clk.now})
	cred, err := entra.SecretCredential("mi", json.RawMessage(`{"userName":"app","password":"`+a.Secret+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	p := entra.TokenParams{Tenant: "default", Setting: setting(t, a, `"secretAsset": "mi"`), Credential: cred, Resource: "https://graph.microsoft.com"}
	ctx := context.Background()
	tok, err := is.Token(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	f := a.LastForm()
	if f["grant_type"][0] != "client_credentials" || f["client_id"][0] != a.ClientID || f["scope"][0] != "https://graph.microsoft.com/.default" ||
		f["client_secret"][0] != a.Secret || f["client_assertion"] != nil {
		t.Errorf("token request form: %v", f)
	}
	if tok.AccessToken != a.Tokens()[0] || tok.TokenType != "Bearer" || tok.ClientID != a.ClientID || tok.Resource != p.Resource ||
		tok.ExpiresOn.Sub(clk.now()) < 3598*time.Second || tok.ExpiresOn.Sub(clk.now()) > 3599*time.Second {
		t.Errorf("token %+v", tok)
	}

	// Cached per (tenant, resource) until 5 minutes before it expires, in
	// flight once for concurrent callers.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if again, err := is.Token(ctx, p); err != nil || again.AccessToken != tok.AccessToken {
				t.Errorf("cached: %v %+v", err, again)
			}
		}()
	}
	wg.Wait()
	other := p
	other.Tenant = "other"
	if tok2, err := is.Token(ctx, other); err != nil || tok2.AccessToken == tok.AccessToken {
		t.Errorf("another tenant shares the token: %v", err)
	}
	arm := p
	arm.Resource = "https://management.azure.com/"
	if tok3, err := is.Token(ctx, arm); err != nil || a.LastForm()["scope"][0] != "https://management.azure.com//.default" || tok3.Resource != arm.Resource {
		t.Errorf("second resource: %v %v", err, a.LastForm())
	}
	if a.Issued() != 3 {
		t.Errorf("issued %d tokens, want 3", a.Issued())
	}
	clk.add(3599*time.Second - entra.RenewBefore - time.Second)
	if again, _ := is.Token(ctx, p); again.AccessToken != tok.AccessToken || a.Issued() != 3 {
		t.Errorf("renewed too early: %d", a.Issued())
	}
	clk.add(2 * time.Second)
	if again, _ := is.Token(ctx, p); again.AccessToken == tok.AccessToken || a.Issued() != 4 {
		t.Errorf("not renewed 5 minutes before expiry: %d", a.Issued())
	}

	// A short-lived token is handed out but not kept.
	a.ExpiresIn = 60
	p.Resource = "api://short"
	for range 2 {
		if _, err := is.Token(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if a.Issued() != 6 {
		t.Errorf("short-lived tokens: issued %d, want 6", a.Issued())
	}
}

func TestAuthorityRefusal(t *testing.T) {
	a := entratest.Start(t)
	is := entra.NewIssuer(entra.IssuerConfig{AllowLocal: true})
	p := entra.TokenParams{Tenant: "default", Setting: setting(t, a, `"secretAsset": "mi"`),
		Credential: entra.Credential{Secret: "wrong-secret-value"}, Resource: "https://graph.microsoft.com"}
	_, err := is.Token(context.Background(), p)
	msg := runbooker.ErrorMessage(err)
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || !strings.Contains(msg, "invalid_client: AADSTS7000215: Invalid client secret") ||
		strings.Contains(msg, "wrong-secret-value") || strings.Contains(msg, "Trace ID") || !strings.Contains(msg, a.URL) {
		t.Errorf("refusal: %v", err)
	}
	// Without AllowLocal a loopback authority is not dialled.
	strict := entra.NewIssuer(entra.IssuerConfig{})
	p.Credential.Secret = a.Secret
	if _, err := strict.Token(context.Background(), p); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE ||
		!strings.Contains(runbooker.ErrorMessage(err), "identity-allow-local") || a.Issued() != 0 {
		t.Errorf("loopback authority without AllowLocal: %v", err)
	}
	if _, err := is.Token(context.Background(), entra.TokenParams{Setting: p.Setting, Credential: p.Credential}); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("no resource: %v", err)
	}
}

func TestCertificateAssertion(t *testing.T) {
	a := entratest.Start(t)
	cred, err := entra.CertificateCredential("mi-cert", json.RawMessage(`{"pem": `+string(mustJSON(a.CertPEM))+`}`))
	if err != nil {
		t.Fatal(err)
	}
	is := entra.NewIssuer(entra.IssuerConfig{AllowLocal: true})
	p := entra.TokenParams{Tenant: "default", Setting: setting(t, a, `"certificateAsset": "mi-cert"`), Credential: cred, Resource: "https://graph.microsoft.com"}
	tok, err := is.Token(context.Background(), p)
	if err != nil {
		t.Fatal(err) // the authority verified the assertion's signature, x5t, aud, iss, sub and times
	}
	f := a.LastForm()
	if tok.AccessToken == "" || f["client_secret"] != nil || f["client_assertion_type"][0] != entra.AssertionType {
		t.Errorf("certificate flow form: %v", f)
	}
	// A certificate without its key, or with another key, is refused.
	certOnly := a.CertPEM[:strings.Index(a.CertPEM, "-----BEGIN PRIVATE KEY")]
	if _, err := entra.CertificateCredential("c", json.RawMessage(`{"pem": `+string(mustJSON(certOnly))+`}`)); err == nil ||
		!strings.Contains(err.Error(), "no RSA private key") {
		t.Errorf("certificate without key: %v", err)
	}
	b := entratest.Start(t)
	mixed := certOnly + b.CertPEM[strings.Index(b.CertPEM, "-----BEGIN PRIVATE KEY"):]
	if _, err := entra.CertificateCredential("c", json.RawMessage(`{"pem": `+string(mustJSON(mixed))+`}`)); err == nil ||
		!strings.Contains(err.Error(), "matches") {
		t.Errorf("certificate with another key: %v", err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
