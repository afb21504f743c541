package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// A synchronous run's job is created on PostgreSQL without waiting for the
// WAL flush, yet everything its caller was told survives a crash of the
// database right after the answer: a run that ended (its finish, a durable
// commit, flushed the creation with it), with its output and its job.start
// audit entry, and a run still going when the answer came (202), which was
// flushed before it.
func TestSyncRunOnPostgresSurvivesADatabaseCrashAfterItsAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("crashes a private PostgreSQL instance; skipped in -short mode")
	}
	pg := pgtest.Private(t)
	url := pg.Database("rb_syncrun")
	s := startServer(t, func(c *ServeConfig) { c.DB = url; c.RunWait = time.Second })
	ctx := context.Background()
	for name, src := range map[string]string{
		"org_general_quick": "#!/bin/bash\necho quick-output\n",
		"org_general_slow":  "#!/bin/bash\nsleep 30\n",
	} {
		if _, err := s.client.PutRunbook(ctx, name, runbooker.LangBash, []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	crash := func() *pgx.Conn {
		t.Helper()
		pg.Crash()
		pg.Start()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		eventually(t, 30*time.Second, "the server to be healthy again", func() bool {
			st, _, _ := s.call("GET", "/healthz", "", "")
			return st == 200
		})
		return conn
	}

	quick, err := s.client.Run(ctx, "org_general_quick", nil, "")
	if err != nil || quick.Status != string(runbooker.StatusCompleted) {
		t.Fatalf("quick run: %+v %v", quick, err)
	}
	conn := crash()
	var status, output string
	var audited int
	err = conn.QueryRow(ctx, `SELECT j.status, coalesce(string_agg(r.text, '' ORDER BY r.seq), '')
		FROM jobs j LEFT JOIN stream_records r ON r.job_pk = j.pk WHERE j.id = $1 GROUP BY j.status`, quick.JobID).Scan(&status, &output)
	if err != nil {
		t.Fatalf("the run answered Completed is gone after the database crashed: %v", err)
	}
	if status != string(runbooker.StatusCompleted) || output != "quick-output" {
		t.Errorf("after the crash the run is %s with output %q, want Completed with quick-output", status, output)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'job.start' AND detail LIKE '%' || $1 || '%'`,
		quick.JobID).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("job.start audit entries of the run after the crash: %d (%v), want 1", audited, err)
	}

	// Connections of the server's pool that the crash broke may still
	// answer one request each with 503.
	var slow *rbhttp.RunResponse
	for try := 0; try < 20; try++ {
		if slow, err = s.client.Run(ctx, "org_general_slow", nil, ""); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
			break
		}
	}
	if err != nil || slow.JobID == "" || runbooker.JobStatus(slow.Status).Terminal() {
		t.Fatalf("slow run, answered before it ended: %+v %v", slow, err)
	}
	conn = crash()
	if err := conn.QueryRow(ctx, `SELECT status FROM jobs WHERE id = $1`, slow.JobID).Scan(&status); err != nil {
		t.Fatalf("the run answered %s is gone after the database crashed: %v", slow.Status, err)
	}
	if _, err := s.client.StopJob(ctx, slow.JobID); err != nil {
		t.Logf("stopping the slow run after the crash: %v", err)
	}
}
