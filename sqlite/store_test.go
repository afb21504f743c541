package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sqlite"
	"github.com/runbooker/runbooker/storetest"
)

func openTemp(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "runbooker.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) runbooker.Store { return openTemp(t) })
}
