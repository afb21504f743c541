// Package entra gives a tenant's jobs a managed identity, as Azure
// Automation does: the tenant's settings name an Entra application and the
// encrypted asset holding its client secret or certificate, and the server
// signs in as that application (the OAuth 2.0 client-credentials flow) to
// hand jobs access tokens, cached per tenant and resource.
package entra

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// SettingKey is the tenant settings document that configures the identity.
const SettingKey = "identity"

// DefaultAuthority is Microsoft Entra ID's sign-in host in the public cloud.
const DefaultAuthority = "https://login.microsoftonline.com"

// Setting is the identity settings document. The secret itself is never in
// it (settings are not encrypted): SecretAsset names a credential asset
// whose password is the client secret, or CertificateAsset a certificate
// asset with its private key.
type Setting struct {
	TenantID         string `json:"tenantId"`
	ClientID         string `json:"clientId"`
	SecretAsset      string `json:"secretAsset,omitempty"`
	CertificateAsset string `json:"certificateAsset,omitempty"`
	// Authority is the sign-in host; DefaultAuthority when empty (national
	// clouds, and tests on loopback, set another).
	Authority string `json:"authority,omitempty"`
	// AccountID is the job's AUTOMATION_ASSET_ACCOUNTID; when empty, a
	// stable id derived from the Runbooker tenant (AccountIDFor).
	AccountID string `json:"accountId,omitempty"`
	// PrincipalID is the object id of the application's service principal,
	// optional: a job naming principal_id is answered only when it matches.
	PrincipalID string `json:"principalId,omitempty"`
}

var (
	entraTenant = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$`)
	plainID     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// ParseSetting reads an identity settings document as operators write it
// (comments and trailing commas allowed). An empty document, {}, turns the
// identity off: it returns nil and no error.
func ParseSetting(raw []byte) (*Setting, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	norm, err := loosejson.Normalize(raw)
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "identity is not valid JSON: %v", err)
	}
	var s Setting
	dec := json.NewDecoder(bytes.NewReader(norm))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "identity: %v (known fields: tenantId, clientId, secretAsset, certificateAsset, authority, accountId, principalId)", err)
	}
	if s == (Setting{}) {
		return nil, nil
	}
	bad := func(format string, args ...any) (*Setting, error) {
		return nil, runbooker.Errorf(runbooker.EINVALID, "identity: "+format, args...)
	}
	switch {
	case !entraTenant.MatchString(s.TenantID):
		return bad("tenantId must be the Entra tenant's id or domain name")
	case !plainID.MatchString(s.ClientID):
		return bad("clientId must be the application (client) id")
	case (s.SecretAsset == "") == (s.CertificateAsset == ""):
		return bad("name exactly one of secretAsset (a credential asset whose password is the client secret) and certificateAsset (a certificate asset with its private key)")
	case s.AccountID != "" && !plainID.MatchString(s.AccountID):
		return bad("accountId: use letters, digits, '.', '_' or '-'")
	case s.PrincipalID != "" && !plainID.MatchString(s.PrincipalID):
		return bad("principalId must be the service principal's object id")
	}
	if s.Authority == "" {
		s.Authority = DefaultAuthority
	}
	u, err := url.Parse(s.Authority)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return bad("authority must be an https URL such as %s", DefaultAuthority)
	}
	s.Authority = strings.TrimRight(s.Authority, "/")
	return &s, nil
}

// TokenURL is the application's token endpoint (v2.0).
func (s *Setting) TokenURL() string {
	return s.Authority + "/" + url.PathEscape(s.TenantID) + "/oauth2/v2.0/token"
}

// AccountIDFor is the job's AUTOMATION_ASSET_ACCOUNTID: the setting's, or
// a GUID-shaped id derived from the Runbooker tenant, the same on every
// server and run.
func (s *Setting) AccountIDFor(tenant string) string {
	if s.AccountID != "" {
		return s.AccountID
	}
	sum := sha256.Sum256([]byte("runbooker automation account/" + tenant))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
