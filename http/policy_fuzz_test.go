package http

import (
	"testing"

	"github.com/runbooker/runbooker"
)

// FuzzDirectorySetting: whatever a tenant administrator PUTs as its
// directory document is refused with a client error or accepted, never a
// panic or an internal error.
func FuzzDirectorySetting(f *testing.F) {
	for _, seed := range []string{
		`{"provider": "static", "objects": {"users": [{"id": "u1", "userPrincipalName": "a@b"}]}}`,
		`{"provider": "ldap", "url": "ldaps://dc1", "baseDN": "DC=corp", "bindDN": "CN=x", "secretAsset": "bind"}`,
		`{"provider": "msgraph", "tenantId": "t", "clientId": "c", "secretAsset": "g"} // comment`,
		`{"provider": "static", "path": "/etc/passwd"}`, `[]`, `{"provider": 5}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		ds, err := parseDirectorySetting(doc)
		if err != nil {
			if code := runbooker.ErrorCode(err); code != runbooker.EINVALID {
				t.Fatalf("refusal with code %s: %v", code, err)
			}
			return
		}
		if ds.Path != "" {
			t.Fatalf("accepted a server path: %q", ds.Path)
		}
	})
}
