package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sqlite"
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
	const perGoroutine = 30
	var wg sync.WaitGroup
	errs := make(chan error, 8*perGoroutine)
	for g := range 8 {
		db := dbs[g%2]
		wg.Go(func() {
			for i := range perGoroutine {
				err := db.AppendAudit(ctx, &runbooker.AuditEntry{TenantID: "default", Actor: fmt.Sprintf("process %d", g%2),
					ActorKind: runbooker.ActorSystem, Surface: "server", Action: "test.append", Object: fmt.Sprint(g, "/", i)})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AppendAudit: %v", err)
	}
	es, err := dbs[0].ListAudit(ctx, "default", runbooker.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 8*perGoroutine {
		t.Fatalf("%d entries, want %d", len(es), 8*perGoroutine)
	}
	if err := runbooker.VerifyAuditChain(nil, es); err != nil {
		t.Fatal(err)
	}
}
