package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// RunConcurrency runs the suite's concurrency tests: many callers at once
// on the calls an engine may batch or run in parallel (creates, finishes,
// appends racing the rescuer, parking racing claims). open is as for Run.
func RunConcurrency(t *testing.T, open func(t *testing.T) runbooker.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s runbooker.Store)
	}{
		{"CreateFinishConcurrent", testCreateFinishConcurrent},
		{"AppendRacesRescue", testAppendRacesRescue},
		{"SuspendRacesClaim", testSuspendRacesClaim},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has a store of its own
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// fanOut runs fn(i) for i in [0, n) on workers goroutines.
func fanOut(n, workers int, fn func(i int)) {
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// Creates and finishes from many callers at once each get their own
// answer: a duplicate id fails alone, a second delivery of a finish
// succeeds, a different ending or a stale attempt is ECONFLICT, and records
// sent with a finish are stored with it.
func testCreateFinishConcurrent(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	const n = 300
	jobs := make([]*runbooker.Job, n)
	errs := make([]error, n)
	fanOut(n, 16, func(i int) {
		jobs[i] = newJob([]string{tenantA, tenantB}[i%2], group, at(float64(i)/1000))
		errs[i] = s.CreateJob(ctx, jobs[i])
	})
	for i, err := range errs {
		ok(t, err, fmt.Sprintf("CreateJob %d", i))
	}
	// A duplicate id among concurrent creates fails alone.
	again := make([]error, 8)
	fanOut(8, 8, func(i int) {
		j := newJob(tenantA, group, at(1))
		if i == 0 {
			j.ID = jobs[0].ID
		}
		again[i] = s.CreateJob(ctx, j)
	})
	wantCode(t, again[0], runbooker.ECONFLICT, "concurrent CreateJob with an existing id")
	for _, err := range again[1:] {
		ok(t, err, "CreateJob next to a duplicate")
	}
	claimed := map[string]*runbooker.Job{}
	for {
		js, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker1, Limit: 100, Now: at(2), LeaseUntil: at(32)})
		ok(t, err, "ClaimJobs")
		if len(js) == 0 {
			break
		}
		for _, j := range js {
			claimed[j.ID] = j
		}
	}
	if len(claimed) != n+7 {
		t.Fatalf("claimed %d jobs, want %d", len(claimed), n+7)
	}
	// Each job i: finish Completed (i%4==0 with two records), twice for
	// i%5==0 (same ending: both succeed), a Failed rival for i%7==0
	// (exactly one of the two endings wins), a stale attempt for i%11==0.
	type call struct {
		p       runbooker.FinishParams
		stale   bool
		job     int
		outcome error
	}
	var calls []*call
	for i, j := range jobs {
		c := claimed[j.ID]
		p := runbooker.FinishParams{Ref: ref(c), Status: runbooker.StatusCompleted, Now: at(3)}
		if i%4 == 0 {
			p.Records = records(1, 2, at(2.5))
		}
		calls = append(calls, &call{p: p, job: i})
		if i%5 == 0 {
			calls = append(calls, &call{p: p, job: i})
		}
		if i%7 == 0 {
			rival := p
			rival.Status, rival.Exception, rival.Records = runbooker.StatusFailed, "rival", nil
			calls = append(calls, &call{p: rival, job: i})
		}
		if i%11 == 0 {
			stale := p
			stale.Ref.Attempt++
			calls = append(calls, &call{p: stale, stale: true, job: i})
		}
	}
	fanOut(len(calls), 32, func(k int) {
		_, calls[k].outcome = s.FinishJob(ctx, calls[k].p)
	})
	for i, j := range jobs {
		got := getJob(t, s, j.TenantID, j.ID)
		if !got.Status.Terminal() || got.Attempt != 1 {
			t.Fatalf("job %d: %s attempt %d after its finishes", i, got.Status, got.Attempt)
		}
		for _, c := range calls {
			if c.job != i {
				continue
			}
			switch {
			case c.stale:
				wantCode(t, c.outcome, runbooker.ECONFLICT, "FinishJob with a stale attempt")
			case c.p.Status == got.Status:
				ok(t, c.outcome, fmt.Sprintf("FinishJob %d as %s (it ended so)", i, got.Status))
			default:
				wantCode(t, c.outcome, runbooker.ECONFLICT, "FinishJob with the losing ending")
			}
		}
		want := []int64(nil)
		if i%4 == 0 && got.Status == runbooker.StatusCompleted {
			want = []int64{1, 2}
		}
		wantSeqs(t, streams(t, s, j.TenantID, j.ID, runbooker.StreamFilter{}), want, fmt.Sprintf("records of job %d", i))
	}
}

// Appends racing a rescue of the same attempt: each append either lands
// before the rescuer's Warning (and is kept) or is refused; the Warning is
// numbered after everything kept, and each job is rescued (and warned)
// exactly once.
func testAppendRacesRescue(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	const n = 40
	cs := make([]*runbooker.Job, n)
	for i := range cs {
		cs[i] = runningJob(t, s, tenantA, at(float64(i)/100))
	}
	accepted := make([][]int64, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			for k := int64(1); k <= 20; k++ {
				err := s.AppendStreams(ctx, ref(c), records(k, 1, at(1)))
				if err == nil {
					mu.Lock()
					accepted[i] = append(accepted[i], k)
					mu.Unlock()
				} else if runbooker.ErrorCode(err) != runbooker.ECONFLICT {
					t.Errorf("AppendStreams: %v", err)
				}
			}
		})
	}
	var rescued []runbooker.RescuedJob
	wg.Go(func() {
		time.Sleep(time.Millisecond)
		for range 2 {
			r, err := s.RescueJobs(ctx, runbooker.RescueParams{Now: at(100), MaxAttempts: 3})
			if err != nil {
				t.Errorf("RescueJobs: %v", err)
			}
			mu.Lock()
			rescued = append(rescued, r...)
			mu.Unlock()
		}
	})
	wg.Wait()
	// An engine whose rescuers skip rows busy at that instant (PostgreSQL's
	// SKIP LOCKED) leaves those to the next pass; once appends stop, one
	// pass finds every job left.
	r, err := s.RescueJobs(ctx, runbooker.RescueParams{Now: at(100), MaxAttempts: 3})
	ok(t, err, "RescueJobs after the appends")
	rescued = append(rescued, r...)
	if len(rescued) != n {
		t.Fatalf("rescued %d jobs, want %d (each once)", len(rescued), n)
	}
	for i, c := range cs {
		recs := streams(t, s, tenantA, c.ID, runbooker.StreamFilter{})
		want := append(slices.Clone(accepted[i]), int64(len(accepted[i])+1))
		wantSeqs(t, recs, want, fmt.Sprintf("job %d: accepted records, then the Warning", i))
		if recs[len(recs)-1].Type != runbooker.StreamWarning {
			t.Fatalf("job %d: last record %+v, want the rescuer's Warning", i, recs[len(recs)-1])
		}
	}
}

// Parking waiting jobs while claimers take them: every job ends either
// claimed once or parked once, and every parked id is reported once.
func testSuspendRacesClaim(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	const n = 300
	for i := range n {
		createJob(t, s, newJob(tenantA, group, at(float64(i)/1000)))
	}
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 30 {
				var ids []string
				if w%2 == 0 {
					js, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker1, Limit: 5, Now: at(5), LeaseUntil: at(35)})
					if err != nil {
						t.Errorf("ClaimJobs: %v", err)
					}
					ids = jobIDs(js)
				} else {
					var err error
					ids, err = s.SuspendWaiting(ctx, runbooker.SuspendParams{TenantID: tenantA, Group: group,
						QueuedBefore: at(10), Reason: "no worker", Now: at(5)})
					if err != nil {
						t.Errorf("SuspendWaiting: %v", err)
					}
				}
				mu.Lock()
				for _, id := range ids {
					taken[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(taken) != n {
		t.Fatalf("%d of %d jobs claimed or parked", len(taken), n)
	}
	for id, k := range taken {
		if k != 1 {
			t.Fatalf("job %s was claimed or parked %d times", id, k)
		}
		if st := getJob(t, s, tenantA, id).Status; st != runbooker.StatusActivating && st != runbooker.StatusSuspended {
			t.Fatalf("job %s is %s", id, st)
		}
	}
}
