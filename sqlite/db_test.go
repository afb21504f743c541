package sqlite

import (
	"context"
	"github.com/runbooker/runbooker/storeutil"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

func open(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func count(t *testing.T, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.r.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// The database survives a reopen, and reopening applies no migration twice.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "runbooker.db")
	db := open(t, path)
	ms, err := storeutil.LoadMigrations(migrations, "migrations", "sqlite")
	if err != nil || len(ms) == 0 {
		t.Fatalf("LoadMigrations = %d, %v", len(ms), err)
	}
	if err := db.EnsureTenant(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	content := []byte("echo hi")
	rb := &runbooker.Runbook{TenantID: "default", Name: "org_general_hi", Language: runbooker.LangBash,
		Version: runbooker.ContentHash(content), Scope: "org", Category: "general"}
	if _, err := db.PutRunbook(ctx, rb, content); err != nil {
		t.Fatal(err)
	}
	j := &runbooker.Job{TenantID: "default", RunbookName: rb.Name, RunbookVersion: rb.Version, RunOn: "cloud"}
	if err := db.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	for range 2 {
		db = open(t, path)
		if n := count(t, db, `SELECT count(*) FROM schema_migrations`); n != len(ms) {
			t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
		}
		if _, err := db.Job(ctx, "default", j.ID); err != nil {
			t.Fatalf("job after reopen: %v", err)
		}
		if got, err := db.RunbookContent(ctx, "default", rb.Version); err != nil || string(got) != string(content) {
			t.Fatalf("content after reopen: %q, %v", got, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Processes (here: connections) opening a fresh file at once all succeed
// and the schema is applied once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "runbooker.db")
	var wg sync.WaitGroup
	dbs := make([]*DB, 4)
	errs := make([]error, len(dbs))
	for i := range dbs {
		wg.Go(func() { dbs[i], errs[i] = Open(context.Background(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	ms, _ := storeutil.LoadMigrations(migrations, "migrations", "sqlite")
	if n := count(t, dbs[0], `SELECT count(*) FROM schema_migrations`); n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "runbooker.db"))
	defer db.Close()
	var mode string
	var fk, sync, busy int
	err := db.write(t.Context(), func(ctx context.Context, tx querier) error {
		return tx.QueryRowContext(ctx, `SELECT (SELECT journal_mode FROM pragma_journal_mode),
			(SELECT foreign_keys FROM pragma_foreign_keys), (SELECT synchronous FROM pragma_synchronous),
			(SELECT timeout FROM pragma_busy_timeout)`).Scan(&mode, &fk, &sync, &busy)
	})
	if err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || fk != 1 || sync != 1 || busy < 1000 {
		t.Fatalf("writer: journal_mode %s foreign_keys %d synchronous %d busy_timeout %d; want wal, 1, 1 (NORMAL), ≥ 1000",
			mode, fk, sync, busy)
	}
	if n := count(t, db, `SELECT query_only FROM pragma_query_only`); n != 1 {
		t.Fatal("reader connections are not query_only")
	}
}

// A purge removes the stream records with their jobs: nothing is orphaned.
func TestPurgeDeletesRecords(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "runbooker.db"))
	defer db.Close()
	now := time.Now()
	for range 3 {
		j := &runbooker.Job{TenantID: "default", RunbookName: "org_general_hi", RunOn: "cloud"}
		if err := db.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		js, err := db.ClaimJobs(ctx, runbooker.ClaimParams{Group: "cloud", WorkerID: "w", Limit: 1, Now: now, LeaseUntil: now.Add(time.Minute)})
		if err != nil || len(js) != 1 {
			t.Fatal(err)
		}
		ref := runbooker.JobRef{ID: j.ID, Attempt: js[0].Attempt}
		recs := make([]runbooker.StreamRecord, 300)
		for i := range recs {
			recs[i] = runbooker.StreamRecord{Seq: int64(i + 1), Time: now, Type: runbooker.StreamOutput, Text: "x"}
		}
		if err := db.AppendStreams(ctx, ref, recs); err != nil {
			t.Fatal(err)
		}
		if _, err := db.FinishJob(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM stream_records`); n != 900 {
		t.Fatalf("%d records before purge", n)
	}
	if n, err := db.PurgeJobs(ctx, now.Add(time.Second)); err != nil || n != 3 {
		t.Fatalf("PurgeJobs = %d, %v", n, err)
	}
	if n := count(t, db, `SELECT count(*) FROM stream_records`); n != 0 {
		t.Fatalf("%d orphaned records after purge", n)
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "runbooker.db"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := db.EnsureTenant(t.Context(), "default")
	if code := runbooker.ErrorCode(err); code != runbooker.EUNAVAILABLE {
		t.Fatalf("write after Close: %v (code %s), want EUNAVAILABLE", err, code)
	}
	if code := runbooker.ErrorCode(db.Ping(t.Context())); code != runbooker.EUNAVAILABLE {
		t.Fatalf("Ping after Close: code %s, want EUNAVAILABLE", code)
	}
}

func TestOpenInvalidPath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "a?b.db"} {
		if _, err := Open(t.Context(), p); runbooker.ErrorCode(err) != runbooker.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", p, err)
		}
	}
}

// The background checkpointer copies committed pages into the main file
// without the writer's help (its own threshold is far away).
func TestBackgroundCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "runbooker.db")
	db := open(t, path)
	defer db.Close()
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := size()
	for range 500 {
		if err := db.CreateJob(ctx, &runbooker.Job{TenantID: "default", RunbookName: "org_general_hi", RunOn: "cloud"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("main database file still %d bytes: no checkpoint ran", size())
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline: nothing to wait on
	}
}
