package http

import (
	"context"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// testCredential stores a credential of the default tenant (made if need
// be) with the given role and returns its id and secret.
func testCredential(t *testing.T, st runbooker.Store, role runbooker.Role, at time.Time) (id, secret string) {
	t.Helper()
	ctx := context.Background()
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	secret = runbooker.NewSecret()
	c := &runbooker.Credential{ID: runbooker.NewID(), TenantID: runbooker.DefaultTenant, Name: "c", Role: role,
		SecretHash: runbooker.HashSecret(secret), CreatedAt: at.UTC()}
	if err := st.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c.ID, secret
}
