package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/runbooker/runbooker/sqlite"
	"github.com/runbooker/runbooker/storetest"
)

// Two stores on one file (as two processes would open it) append to one
// tenant's log at once: the writers take turns, and the chain has neither
// gaps nor forks.
func TestAuditAppendsFromTwoOpens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "runbooker.db")
	ctx := context.Background()
	var dbs [2]*sqlite.DB
	for i := range dbs {
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	storetest.AuditFromTwoStores(t, dbs[0], dbs[1])
}
