package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

var _ runbooker.LazyStore = (*postgres.DB)(nil)

func lazyJob(id string) *runbooker.Job {
	now := time.Now().UTC()
	return &runbooker.Job{ID: id, TenantID: runbooker.DefaultTenant, RunbookName: "org_general_x", RunbookVersion: "v1",
		Language: runbooker.LangBash, RunOn: runbooker.CloudGroup, Caller: "t", Status: runbooker.StatusNew,
		CreatedAt: now, LastModifiedAt: now, Parameters: map[string]any{"N": 7}}
}

// A job created lazily is the job CreateJob would have stored, seen at once
// by every reader.
func TestCreateJobLazilyStoresTheSameJob(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	if err := db.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateJob(ctx, lazyJob("job-durable")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateJobLazily(ctx, lazyJob("job-lazy")); err != nil {
		t.Fatal(err)
	}
	durable, err := db.Job(ctx, runbooker.DefaultTenant, "job-durable")
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := db.Job(ctx, runbooker.DefaultTenant, "job-lazy")
	if err != nil {
		t.Fatalf("the lazily created job is not there: %v", err)
	}
	durable.ID, durable.CreatedAt, durable.LastModifiedAt = lazy.ID, lazy.CreatedAt, lazy.LastModifiedAt
	if a, b := jobText(durable), jobText(lazy); a != b {
		t.Errorf("lazily created job differs:\n lazy    %s\n durable %s", b, a)
	}
	if err := db.CreateJobLazily(ctx, lazyJob("job-lazy")); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("a second lazy creation of one id: %v, want ECONFLICT", err)
	}
	if err := db.Flush(ctx); err != nil {
		t.Errorf("Flush: %v", err)
	}
}

func jobText(j *runbooker.Job) string {
	b, _ := json.Marshal(j)
	return string(b)
}

// Flush makes what was committed lazily survive a crash of the database
// that follows at once (an immediate shutdown: the WAL buffers are lost,
// and the WAL writer has had no time to write them).
func TestFlushMakesLazyCreationsDurable(t *testing.T) {
	if testing.Short() {
		t.Skip("crashes a private PostgreSQL instance; skipped in -short mode")
	}
	pg := pgtest.Private(t)
	url := pg.Database("rb_lazy")
	ctx := context.Background()
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, url, postgres.Config{PoolSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	if err := db.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	lsn := func(fn string) (v uint64) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT `+fn+`() - '0/0'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	const n = 20
	for i := range n {
		if err := db.CreateJobLazily(ctx, lazyJob(jobName("flushed", i))); err != nil {
			t.Fatal(err)
		}
		written := lsn("pg_current_wal_insert_lsn") // past the creation's commit record
		if err := db.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if flushed := lsn("pg_current_wal_flush_lsn"); flushed < written {
			t.Errorf("after Flush the WAL is flushed to %d, short of the lazy creation's %d", flushed, written)
		}
	}
	conn.Close(ctx)
	// A control, logged only: lazy creations not flushed may survive the
	// crash or not, as the WAL writer had written them or not.
	for i := range n {
		if err := db.CreateJobLazily(ctx, lazyJob(jobName("unflushed", i))); err != nil {
			t.Fatal(err)
		}
	}
	pg.Crash()
	db.Close()
	pg.Start()
	db = open()
	defer db.Close()
	var unflushed int
	for i := range n {
		if _, err := db.Job(ctx, runbooker.DefaultTenant, jobName("flushed", i)); err != nil {
			t.Errorf("flushed job %d after the crash: %v", i, err)
		}
		if _, err := db.Job(ctx, runbooker.DefaultTenant, jobName("unflushed", i)); err == nil {
			unflushed++
		}
	}
	t.Logf("%d of %d lazy creations made after the flush survived the crash", unflushed, n)
}

func jobName(prefix string, i int) string {
	return prefix + "-" + string(rune('a'+i))
}
