package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// queueJobs stores n New jobs of runbook "rb" for group "g" of tenant "t1",
// in one batch.
func queueJobs(t *testing.T, db *postgres.DB, n int, now time.Time) {
	t.Helper()
	js := make([]*runbooker.Job, n)
	for i := range js {
		js[i] = &runbooker.Job{ID: runbooker.NewUUID(), TenantID: "t1", RunbookName: "rb", RunbookVersion: "v1",
			Language: runbooker.LangBash, RunOn: "g", Caller: "test", Status: runbooker.StatusNew, CreatedAt: now, LastModifiedAt: now}
	}
	if err := db.CreateJobs(context.Background(), js); err != nil {
		t.Fatal(err)
	}
}

// Finishes that arrive while a batch of finishes is being written wait for
// it and then go together, in one batch: a second batch beside the first
// would contend for the same pages and split the calls (finishesInFlight).
func TestFinishesGatherBehindTheBatchInFlight(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	ctx := context.Background()
	db := openTemp(t)
	defer db.Close()

	const n = 21
	now := time.Now().UTC()
	queueJobs(t, db, n, now)
	claimed, err := db.ClaimJobs(ctx, runbooker.ClaimParams{TenantID: "t1", Group: "g", WorkerID: "w", Limit: n, Now: now, LeaseUntil: now.Add(time.Hour)})
	if err != nil || len(claimed) != n {
		t.Fatalf("claimed %d jobs, %v", len(claimed), err)
	}

	// The first batch holds until the others are queued behind it, or
	// until a second batch starts beside it.
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	postgres.BeforeFinishBatch(db, func(size int) {
		mu.Lock()
		sizes = append(sizes, size)
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release
		}
	})
	batches := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(sizes)
	}
	queued := func() int { return postgres.QueuedFinishes(db) }
	waitFor := func(what string, ok func() bool) {
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting: %s", what)
			}
		}
	}

	errs := make(chan error, n)
	finish := func(j *runbooker.Job) {
		_, err := db.FinishJob(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, Status: runbooker.StatusCompleted, Now: now})
		errs <- err
	}
	go finish(claimed[0])
	waitFor("the first batch to start", func() bool { return batches() == 1 })
	for _, j := range claimed[1:] {
		go finish(j)
	}
	waitFor("the other finishes to queue or a second batch to start", func() bool { return queued() == n-1 || batches() > 1 })
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	if want := []int{1, n - 1}; !slices.Equal(sizes, want) {
		t.Fatalf("finish batches of %v calls, want %v: the calls behind the first batch should gather into one", sizes, want)
	}
	for _, j := range claimed {
		got, err := db.Job(ctx, "t1", j.ID)
		if err != nil || got.Status != runbooker.StatusCompleted {
			t.Fatalf("job %s after its finish: %v, %v", j.ID, got, err)
		}
	}
}

// Job listings and claims write their row limit into the statement, so
// that PostgreSQL settles on a generic plan instead of planning every run
// (with LIMIT $n it never does: a generic plan's guessed limit makes it
// dearer than any custom one).
func TestListingsAndClaimsSettleOnAGenericPlan(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Database(t), postgres.Config{PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	// Enough jobs, with statistics, that a guessed limit (a tenth of the
	// 2,000 rows a filter matches) costs more than the real one.
	for b := 0; b < 2; b++ {
		queueJobs(t, db, 1000, now)
	}
	if err := db.ExecRaw(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := db.ListJobs(ctx, "t1", runbooker.JobFilter{RunbookName: "rb", Limit: 50}); err != nil {
			t.Fatal(err)
		}
		if jobs, err := db.ClaimJobs(ctx, runbooker.ClaimParams{TenantID: "t1", Group: "g", WorkerID: "w", Limit: 1, Now: now, LeaseUntil: now.Add(time.Hour)}); err != nil || len(jobs) != 1 {
			t.Fatalf("claim %d: %d jobs, %v", i, len(jobs), err)
		}
	}
	for _, c := range []struct{ what, text string }{
		{"job listing", "FROM job_index x JOIN jobs j"},
		{"claim", "FOR UPDATE SKIP LOCKED"},
	} {
		generic, custom, err := postgres.GenericPlans(ctx, db, c.text)
		if err != nil {
			t.Fatal(err)
		}
		if generic == 0 || custom > 5 {
			t.Errorf("%s: %d generic and %d custom plans in 10 runs; want a generic plan after at most 5 custom ones", c.what, generic, custom)
		}
	}
}
