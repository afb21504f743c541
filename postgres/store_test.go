package postgres_test

import (
	"context"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
	"github.com/runbooker/runbooker/storetest"
)

// openTemp opens a store on a fresh database of its own.
func openTemp(t testing.TB) *postgres.DB {
	t.Helper()
	url := pgtest.Database(t)
	db, err := postgres.Open(context.Background(), url, postgres.Config{PoolSize: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	storetest.Run(t, func(t *testing.T) runbooker.Store { return openTemp(t) })
}

func TestStoreConcurrency(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	storetest.RunConcurrency(t, func(t *testing.T) runbooker.Store { return openTemp(t) })
}
