package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// A database upgraded from the schema before job_index (0012) lists the
// jobs it already held, by every listing filter, and keeps listing the
// jobs created after.
func TestUpgradeMovesTheListingIndexes(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, postgres.PlainOnLoopback(url))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 12 {
			break
		}
		if _, err := conn.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, $2, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range []struct{ id, runbook, runOn, caller, status string }{
		{"old-1", "org_a", "cloud", "alice", "Completed"},
		{"old-2", "org_b", "onprem", "bob", "Failed"},
		{"old-3", "org_a", "onprem", "bob", "New"},
	} {
		if _, err := conn.Exec(ctx, `INSERT INTO jobs (id, tenant_id, runbook_name, runbook_version, language, parameters, run_on,
			caller, status, created_at, last_modified_at) VALUES ($1, 't1', $2, 'v1', 'Bash', '{}', $3, $4, $5, $6, $6)`,
			r.id, r.runbook, r.runOn, r.caller, r.status, base.Add(time.Duration(i)*time.Minute).UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	db, err := postgres.Open(ctx, url, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	newJob := &runbooker.Job{ID: "new-1", TenantID: "t1", RunbookName: "org_a", RunbookVersion: "v1", Language: runbooker.LangBash,
		Parameters: map[string]any{}, RunOn: "cloud", Caller: "carol", Status: runbooker.StatusNew, CreatedAt: base.Add(time.Hour), LastModifiedAt: base.Add(time.Hour)}
	if err := db.CreateJob(ctx, newJob); err != nil {
		t.Fatal(err)
	}
	ids := func(f runbooker.JobFilter) []string {
		t.Helper()
		page, err := db.ListJobs(ctx, "t1", f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range page.Jobs {
			out = append(out, j.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    runbooker.JobFilter
		want []string
	}{
		{"all", runbooker.JobFilter{}, []string{"new-1", "old-3", "old-2", "old-1"}},
		{"runbook", runbooker.JobFilter{RunbookName: "org_a"}, []string{"new-1", "old-3", "old-1"}},
		{"group", runbooker.JobFilter{RunOn: "onprem"}, []string{"old-3", "old-2"}},
		{"caller", runbooker.JobFilter{Caller: "bob"}, []string{"old-3", "old-2"}},
		{"status", runbooker.JobFilter{Status: []runbooker.JobStatus{runbooker.StatusNew}}, []string{"new-1", "old-3"}},
		{"runbook and statuses", runbooker.JobFilter{RunbookName: "org_a", Status: []runbooker.JobStatus{runbooker.StatusCompleted, runbooker.StatusNew}},
			[]string{"new-1", "old-3", "old-1"}},
		{"page of two", runbooker.JobFilter{Limit: 2}, []string{"new-1", "old-3"}},
	} {
		if got := ids(c.f); !equalIDs(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// A replica of the version before, still running during the upgrade,
	// inserts jobs knowing nothing of job_index: they are listed all the same.
	conn, err = pgx.Connect(ctx, postgres.PlainOnLoopback(url))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO jobs (id, tenant_id, runbook_name, runbook_version, language, parameters, run_on,
		caller, status, created_at, last_modified_at) VALUES ('older-replica', 't1', 'org_c', 'v1', 'Bash', '{}', 'cloud', 'dave', 'New', $1, $1)`,
		base.Add(2*time.Hour).UnixNano()); err != nil {
		t.Fatal(err)
	}
	if got := ids(runbooker.JobFilter{Caller: "dave"}); !equalIDs(got, []string{"older-replica"}) {
		t.Errorf("a job an older replica inserted is listed as %v", got)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM jobs WHERE id = 'older-replica'`); err != nil {
		t.Fatal(err)
	}
	// The purge takes a job's listing row with it.
	if _, err := conn.Exec(ctx, `UPDATE jobs SET ended_at = $1 WHERE id = 'old-1'`, base.Add(time.Minute).UnixNano()); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PurgeJobs(ctx, base.Add(24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	var rows int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM job_index`).Scan(&rows); err != nil || rows != 3 {
		t.Fatalf("%d listing rows after the purge (%v), want 3", rows, err)
	}
	if got := ids(runbooker.JobFilter{}); !equalIDs(got, []string{"new-1", "old-3", "old-2"}) {
		t.Errorf("after the purge: %v", got)
	}
}

func equalIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Every text column that an index of jobs or job_index holds compares
// bytewise (migration 0013): under the database's own collation each
// comparison of a B-tree descent on a job write goes through strcoll.
func TestJobIndexKeysCompareBytewise(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	conn, err := pgx.Connect(ctx, postgres.PlainOnLoopback(url))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT DISTINCT i.indexrelid::regclass::text, a.attname, coalesce(c.collname, '')
		FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		LEFT JOIN pg_collation c ON c.oid = a.attcollation
		WHERE i.indrelid IN ('jobs'::regclass, 'job_index'::regclass) AND a.atttypid = 'text'::regtype`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var index, column, coll string
		if err := rows.Scan(&index, &column, &coll); err != nil {
			t.Fatal(err)
		}
		n++
		if coll != "C" {
			t.Errorf("index %s holds %s under collation %q, want C", index, column, coll)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("found %d indexed text columns of jobs and job_index; the query no longer sees them", n)
	}
}
