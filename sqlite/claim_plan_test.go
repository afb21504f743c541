package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// Every claim reads an index of New jobs only, whatever the planner's
// statistics say: a claim that walked the group's history (the listing
// index of tenant and group, finished jobs first) grew slower with every
// job the group ever ran.
func TestClaimsReadOnlyQueuedJobs(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Statistics like a server's after PRAGMA optimize, with a history.
	for i := 0; i < 200; i++ {
		if err := db.CreateJob(ctx, &runbooker.Job{ID: fmt.Sprintf("job-%03d", i), TenantID: "t1", RunbookName: "rb",
			Language: runbooker.LangBash, RunOn: "onprem", Status: runbooker.StatusNew}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.wc.ExecContext(ctx, "UPDATE jobs SET status = 'Completed' WHERE id < 'job-190'"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.wc.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	langs := runbooker.ClaimParams{Group: "onprem", Limit: 4, TenantID: "t1", Languages: []runbooker.Language{runbooker.LangBash, runbooker.LangPython}}
	var args []any
	queries := map[string]string{
		"any tenant":                 fmt.Sprintf(claimSQL, queueIndex(false), ""),
		"one tenant":                 fmt.Sprintf(claimSQL, queueIndex(true), "AND tenant_id = ?3"),
		"one tenant, some languages": claimLanguagesSQL(langs, &args),
	}
	for name, q := range queries {
		rows, err := db.wc.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, "onprem", 4, "t1", "bash", "python")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, "INDEX jobs_queue") || strings.Contains(all, "jobs_tenant_") {
			t.Errorf("%s: plan %q, want a search of an index of New jobs (jobs_queue…)", name, all)
		}
	}
}
