package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/runbooker/runbooker"
)

func pageSizeOf(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.r.QueryRowContext(context.Background(), "PRAGMA page_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A new database gets the small pages the hot paths write fastest
// (pageSize); a database made with other pages keeps them, and works.
func TestPageSize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fresh, err := Open(ctx, filepath.Join(dir, "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if got := pageSizeOf(t, fresh); got != pageSize {
		t.Errorf("a new database has %d-byte pages, want %d", got, pageSize)
	}

	// A database of an earlier version: SQLite's default 4 KiB pages.
	oldPath := filepath.Join(dir, "old.db")
	raw, err := sql.Open("sqlite", oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA page_size=4096; CREATE TABLE earlier (x); PRAGMA journal_mode=WAL"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	old, err := Open(ctx, oldPath)
	if err != nil {
		t.Fatalf("opening a database with 4 KiB pages: %v", err)
	}
	defer old.Close()
	if got := pageSizeOf(t, old); got != 4096 {
		t.Errorf("an existing database's pages became %d bytes, want its own 4096", got)
	}
	if err := old.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Errorf("writing to the database with 4 KiB pages: %v", err)
	}
}
