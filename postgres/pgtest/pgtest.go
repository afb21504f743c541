// Package pgtest gives tests a fresh PostgreSQL database of their own on
// the server named by RUNBOOKER_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/postgres).
//
// When the server cannot be reached a test is skipped with a loud message,
// except under CI (CI set to anything but "" or "false"), where it fails:
// CI must never pass by skipping the PostgreSQL engine.
//
// Tests that restart the server take an exclusive, machine-wide lock
// (Exclusive); every other test holds it shared while it uses its database,
// so test binaries that `go test ./...` runs in parallel never see a
// restart they did not cause.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker/postgres"
)

// DefaultAdminURL is the server tests use unless RUNBOOKER_TEST_POSTGRES says otherwise.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres"

// AdminURL is the URL of the server's maintenance database tests create
// their databases from.
func AdminURL() string {
	if u := os.Getenv("RUNBOOKER_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// InCI reports whether the tests run in CI, where PostgreSQL must be there.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Require skips (locally) or fails (in CI) the test when the server does
// not answer.
func Require(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, AdminURL())
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err == nil {
		return
	}
	msg := "!!! POSTGRESQL IS NOT REACHABLE at " + AdminURL() + ": " + err.Error() +
		" !!! The PostgreSQL engine is NOT tested. Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -1) main start) or set RUNBOOKER_TEST_POSTGRES."
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Database creates an empty database for the test, dropped when it ends,
// and returns its URL. It holds the restart lock shared until then.
func Database(t testing.TB) string {
	t.Helper()
	Require(t)
	lockShared(t)
	return create(t)
}

// Exclusive is Database for a test that restarts the server: it waits
// until no other test process uses PostgreSQL and keeps them out until the
// test ends.
func Exclusive(t testing.TB) string {
	t.Helper()
	Require(t)
	lockExclusive(t)
	return create(t)
}

func create(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "rb_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, err := postgres.CreateDatabase(ctx, AdminURL(), name)
	if err != nil {
		t.Fatalf("creating test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := postgres.DropDatabase(ctx, AdminURL(), name); err != nil {
			t.Logf("dropping test database %s: %v", name, err)
		}
	})
	return url
}

// lockPath is the machine-wide lock file shared by every test process.
func lockPath() string { return filepath.Join(os.TempDir(), "runbooker-pgtest.lock") }
