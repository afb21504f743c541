package http

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sqlite"
)

// testStore opens a SQLite store in a temp dir, closed when the test ends.
func testStore(t *testing.T) *sqlite.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "runbooker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

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
