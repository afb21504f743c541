package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// Two stores on one database stand for two servers of a scale-out
// deployment: their concurrent appends to one tenant's log still make one
// chain without gaps or forks.
func TestAuditAppendsFromTwoServers(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	ctx := context.Background()
	var servers [2]*postgres.DB
	for i := range servers {
		db, err := postgres.Open(ctx, url, postgres.Config{PoolSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		servers[i] = db
	}
	const perGoroutine = 30
	var wg sync.WaitGroup
	errs := make(chan error, 8*perGoroutine)
	for g := range 8 {
		db := servers[g%2]
		wg.Go(func() {
			for i := range perGoroutine {
				err := db.AppendAudit(ctx, &runbooker.AuditEntry{TenantID: "default", Actor: fmt.Sprintf("server %d", g%2),
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
	es, err := servers[1].ListAudit(ctx, "default", runbooker.AuditFilter{Limit: 1000})
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
