package entra_test

import (
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/entra"
)

// FuzzParseSetting: a tenant's document either is refused with EINVALID or
// gives a setting whose token URL stays on the authority it names.
func FuzzParseSetting(f *testing.F) {
	for _, seed := range []string{`{}`, `{"tenantId": "t", "clientId": "c", "secretAsset": "a"}`,
		`{"tenantId": "contoso.onmicrosoft.com", "clientId": "c", "certificateAsset": "b", "authority": "https://login.microsoftonline.us/", /* x */}`,
		`{"tenantId": "t/../x", "clientId": "c", "secretAsset": "a"}`, `[`, `{"tenantId": 1}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := entra.ParseSetting(raw)
		if err != nil {
			if runbooker.ErrorCode(err) != runbooker.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if s == nil {
			return
		}
		if !strings.HasPrefix(s.TokenURL(), s.Authority+"/") || strings.Contains(s.TenantID, "/") ||
			(s.SecretAsset == "") == (s.CertificateAsset == "") {
			t.Fatalf("accepted %q as %+v", raw, s)
		}
	})
}
