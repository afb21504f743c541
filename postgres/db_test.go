package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// Servers starting together on a fresh database migrate it once: the
// advisory lock makes the others wait and find every step applied.
func TestOpenConcurrentlyMigratesOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), url, postgres.Config{PoolSize: 2})
			if err == nil {
				err = db.EnsureTenant(context.Background(), runbooker.DefaultTenant)
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, distinct int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Fatalf("schema_migrations has %d rows for %d versions", n, distinct)
	}
}

// A database that cannot be reached is EUNAVAILABLE with a clear message,
// never an internal error.
func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), "postgres://postgres:secret@127.0.0.1:1/nowhere?connect_timeout=2", postgres.Config{})
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Fatalf("Open of a closed port: code %q, err %v", runbooker.ErrorCode(err), err)
	}
	msg := runbooker.ErrorMessage(err)
	if !strings.HasPrefix(msg, "database unavailable: ") || strings.Contains(msg, "secret") {
		t.Fatalf("message %q: want a clear 'database unavailable' without the password", msg)
	}
}

// Connections killed under the store (as a database restart does) cost at
// most EUNAVAILABLE answers, and the pool heals by itself.
func TestKilledConnectionsHeal(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	if err := db.EnsureTenant(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	url := pgtest.AdminURL()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var dbname string
	if err := db.QueryName(ctx, &dbname); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, dbname); err != nil {
			t.Fatal(err)
		}
		healed := false
		deadline := time.Now().Add(10 * time.Second)
		for !healed && time.Now().Before(deadline) {
			_, err := db.Tenants(ctx)
			switch code := runbooker.ErrorCode(err); {
			case err == nil:
				healed = true
			case code != runbooker.EUNAVAILABLE:
				t.Fatalf("round %d: after killed connections: code %q: %v", round, code, err)
			}
		}
		if !healed {
			t.Fatalf("round %d: the pool did not heal", round)
		}
	}
}
