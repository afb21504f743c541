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
	g := holdFirstBatch(db, postgres.BeforeFinishBatch)
	errs := make(chan error, n)
	finish := func(j *runbooker.Job) {
		_, err := db.FinishJob(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, Status: runbooker.StatusCompleted, Now: now})
		errs <- err
	}
	go finish(claimed[0])
	waitFor(t, "the first batch to start", func() bool { return g.batches() == 1 })
	for _, j := range claimed[1:] {
		go finish(j)
	}
	waitFor(t, "the other finishes to queue or a second batch to start", func() bool {
		return postgres.QueuedFinishes(db) == n-1 || g.batches() > 1
	})
	close(g.release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	if want := []int{1, n - 1}; !slices.Equal(g.sizes(), want) {
		t.Fatalf("finish batches of %v calls, want %v: the calls behind the first batch should gather into one", g.sizes(), want)
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

// batchHold holds the first batch of a batcher until release is closed,
// and records the size of every batch.
type batchHold struct {
	mu      sync.Mutex
	seen    []int
	release chan struct{}
}

// holdFirstBatch sets up a batchHold on db through hook (BeforeFinishBatch
// or BeforeChainBatch).
func holdFirstBatch(db *postgres.DB, hook func(*postgres.DB, func(int))) *batchHold {
	h := &batchHold{release: make(chan struct{})}
	hook(db, func(size int) {
		h.mu.Lock()
		h.seen = append(h.seen, size)
		first := len(h.seen) == 1
		h.mu.Unlock()
		if first {
			<-h.release
		}
	})
	return h
}

func (h *batchHold) sizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.seen)
}

func (h *batchHold) batches() int { return len(h.sizes()) }

// The FinishAndClaim calls of a worker's slots that arrive while one is
// being written go together in one statement: each finish applies (or is
// answered as fenced), and the claim's jobs are dealt out by each call's
// limit, the oldest queued first.
func TestFinishAndClaimsGatherIntoOneStatement(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	ctx := context.Background()
	db := openTemp(t)
	defer db.Close()

	now := time.Now().UTC()
	claim := runbooker.ClaimParams{TenantID: "t1", Group: "g", WorkerID: "w", Now: now, LeaseUntil: now.Add(time.Hour)}
	queueJobs(t, db, 4, now)
	held, err := db.ClaimJobs(ctx, runbooker.ClaimParams{TenantID: "t1", Group: "g", WorkerID: "w", Limit: 4, Now: now, LeaseUntil: now.Add(time.Hour)})
	if err != nil || len(held) != 4 {
		t.Fatalf("claimed %d jobs, %v", len(held), err)
	}
	queueJobs(t, db, 8, now.Add(time.Second))
	page, err := db.ListJobs(ctx, "t1", runbooker.JobFilter{Status: []runbooker.JobStatus{runbooker.StatusNew}, Limit: 100})
	queued := page.Jobs
	if err != nil || len(queued) != 8 {
		t.Fatalf("queued jobs: %d, %v", len(queued), err)
	}

	type answer struct {
		j       *runbooker.Job
		claimed []*runbooker.Job
		err     error
	}
	h := holdFirstBatch(db, postgres.BeforeChainBatch)
	answers := make([]chan answer, 4)
	limits := []int{1, 2, 1, 1}
	call := func(i int) {
		ref := runbooker.JobRef{ID: held[i].ID, Attempt: held[i].Attempt}
		if i == 3 {
			ref.Attempt++ // not this job's attempt: fenced off
		}
		c := claim
		c.Limit = limits[i]
		j, got, err := db.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted, Now: now}, c)
		answers[i] <- answer{j, got, err}
	}
	for i := range answers {
		answers[i] = make(chan answer, 1)
	}
	go call(0)
	waitFor(t, "the first batch to start", func() bool { return h.batches() == 1 })
	for i := 1; i < 4; i++ {
		go call(i)
	}
	waitFor(t, "the other calls to queue or a second batch to start", func() bool {
		return postgres.QueuedChains(db) == 3 || h.batches() > 1
	})
	close(h.release)

	claimedBy := map[string]int{}
	writers := map[string]bool{} // of the second batch's rows
	for i, ch := range answers {
		a := <-ch
		if i > 0 {
			for _, id := range append([]string{held[i].ID}, jobIDs(a.claimed)...) {
				tx, err := postgres.WriterTx(ctx, db, id)
				if err != nil {
					t.Fatal(err)
				}
				if id != held[3].ID { // fenced: not written
					writers[tx] = true
				}
			}
		}
		if i == 3 {
			if runbooker.ErrorCode(a.err) != runbooker.ECONFLICT {
				t.Errorf("call 3 (a stale attempt): error %v, want a conflict", a.err)
			}
		} else if a.err != nil || a.j == nil || a.j.ID != held[i].ID || a.j.Status != runbooker.StatusCompleted {
			t.Errorf("call %d: finished %+v, %v; want job %s Completed", i, a.j, a.err, held[i].ID)
		}
		if len(a.claimed) != limits[i] {
			t.Errorf("call %d claimed %d jobs, want its limit %d", i, len(a.claimed), limits[i])
		}
		for _, c := range a.claimed {
			claimedBy[c.ID]++
			if c.Status != runbooker.StatusActivating || c.WorkerID != "w" || c.NextSeq != 1 {
				t.Errorf("call %d claimed %s as %s for %q (next seq %d)", i, c.ID, c.Status, c.WorkerID, c.NextSeq)
			}
		}
	}
	if want := []int{1, 3}; !slices.Equal(h.sizes(), want) {
		t.Fatalf("batches of %v calls, want %v", h.sizes(), want)
	}
	if len(writers) != 1 {
		t.Errorf("the second batch's finishes and claims were written by %d transactions, want one", len(writers))
	}
	// ListJobs is newest first: the five oldest queued are its last five.
	for k, j := range queued {
		if want := map[bool]int{true: 1, false: 0}[k >= 3]; claimedBy[j.ID] != want {
			t.Errorf("queued job %d (%s) claimed %d times, want %d", k, j.ID, claimedBy[j.ID], want)
		}
	}
	for i, j := range held {
		got, err := db.Job(ctx, "t1", j.ID)
		want := map[bool]runbooker.JobStatus{true: runbooker.StatusActivating, false: runbooker.StatusCompleted}[i == 3]
		if err != nil || got.Status != want {
			t.Errorf("held job %d after the batch: %v, %v; want %s", i, got, err, want)
		}
	}
}

func jobIDs(js []*runbooker.Job) []string {
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	return ids
}
