package storetest

import (
	"slices"
	"sync"
	"testing"

	"github.com/runbooker/runbooker"
)

// Claims take the oldest New jobs of the group first, up to Limit, and leave
// other groups alone. A claimed job is Activating with attempt+1, the worker
// and lease set, LastModifiedAt = Now and NextSeq 1 when it has no records.
func testClaimFIFO(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	byAge := make([]*runbooker.Job, 5)
	for _, i := range []int{2, 0, 4, 1, 3} { // insertion order differs from age
		byAge[i] = createJob(t, s, newJob(tenantA, group, at(float64(i))))
	}
	elsewhere := createJob(t, s, newJob(tenantA, "cloud", at(-10)))

	claim := func(limit int) []*runbooker.Job {
		js, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker1, Limit: limit,
			Now: at(10), LeaseUntil: at(40)})
		ok(t, err, "ClaimJobs")
		return js
	}
	first := claim(2)
	if !slices.Equal(jobIDs(first), jobIDs(byAge[:2])) {
		t.Fatalf("first claim = %v, want the two oldest %v in order", jobIDs(first), jobIDs(byAge[:2]))
	}
	for _, c := range first {
		if c.Status != runbooker.StatusActivating || c.Attempt != 1 || c.WorkerID != worker1 || c.NextSeq != 1 {
			t.Errorf("claimed job: status %s attempt %d worker %q nextSeq %d; want Activating, 1, %s, 1",
				c.Status, c.Attempt, c.WorkerID, c.NextSeq, worker1)
		}
		wantTime(t, c.LeaseExpiresAt, at(40), "claimed LeaseExpiresAt")
		wantTime(t, c.LastModifiedAt, at(10), "claimed LastModifiedAt")
		sameParams(t, c.Parameters, byAge[0].Parameters, "claimed parameters")
		stored := wantStatus(t, s, tenantA, c.ID, runbooker.StatusActivating)
		if stored.Attempt != 1 || stored.WorkerID != worker1 {
			t.Errorf("stored claimed job: attempt %d worker %q", stored.Attempt, stored.WorkerID)
		}
		wantTime(t, stored.LeaseExpiresAt, at(40), "stored LeaseExpiresAt")
	}
	if second := claim(2); !slices.Equal(jobIDs(second), jobIDs(byAge[2:4])) {
		t.Fatalf("second claim = %v, want %v", jobIDs(second), jobIDs(byAge[2:4]))
	}
	if third := claim(2); !slices.Equal(jobIDs(third), jobIDs(byAge[4:])) {
		t.Fatalf("third claim = %v, want %v", jobIDs(third), jobIDs(byAge[4:]))
	}
	if none := claim(2); len(none) != 0 {
		t.Fatalf("claim of an empty queue = %v", jobIDs(none))
	}
	wantStatus(t, s, tenantA, elsewhere.ID, runbooker.StatusNew)
}

// A claim with TenantID takes only that tenant's jobs; without, any tenant's.
func testClaimTenant(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	b := createJob(t, s, newJob(tenantB, group, at(1))) // older
	a := createJob(t, s, newJob(tenantA, group, at(2)))
	js, err := s.ClaimJobs(ctx, runbooker.ClaimParams{TenantID: tenantA, Group: group, WorkerID: worker1,
		Limit: 10, Now: at(5), LeaseUntil: at(35)})
	ok(t, err, "ClaimJobs tenant A")
	if !slices.Equal(jobIDs(js), []string{a.ID}) {
		t.Fatalf("claim for tenant A = %v, want [%s]", jobIDs(js), a.ID)
	}
	if js[0].TenantID != tenantA {
		t.Fatalf("claimed job's tenant = %q", js[0].TenantID)
	}
	b2 := createJob(t, s, newJob(tenantB, group, at(3)))
	a2 := createJob(t, s, newJob(tenantA, group, at(4)))
	js, err = s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker2, Limit: 10, Now: at(5), LeaseUntil: at(35)})
	ok(t, err, "ClaimJobs any tenant")
	if !slices.Equal(jobIDs(js), []string{b.ID, b2.ID, a2.ID}) {
		t.Fatalf("claim for any tenant = %v, want [%s %s %s]", jobIDs(js), b.ID, b2.ID, a2.ID)
	}
}

// NextSeq is one past the highest stored record, across attempts and the
// rescuer's own Warning records.
func testClaimNextSeq(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	c := runningJob(t, s, tenantA, at(0))
	if c.NextSeq != 1 {
		t.Fatalf("first claim NextSeq = %d, want 1", c.NextSeq)
	}
	ok(t, s.AppendStreams(ctx, ref(c), records(1, 5, at(1))), "AppendStreams")
	rescued, err := s.RescueJobs(ctx, runbooker.RescueParams{Now: at(60), MaxAttempts: 3})
	ok(t, err, "RescueJobs")
	if len(rescued) != 1 {
		t.Fatalf("rescued %d jobs, want 1", len(rescued))
	}
	c2 := claimOne(t, s, tenantA, worker2, at(61), at(91)) // records 1..5 + Warning 6
	if c2.Attempt != 2 || c2.NextSeq != 7 {
		t.Fatalf("re-claim: attempt %d NextSeq %d, want 2 and 7", c2.Attempt, c2.NextSeq)
	}

	// Records written while Activating count too; an Activating rescue adds none.
	ok(t, s.AppendStreams(ctx, ref(c2), records(7, 3, at(62))), "AppendStreams while Activating")
	_, err = s.RescueJobs(ctx, runbooker.RescueParams{Now: at(120), MaxAttempts: 3})
	ok(t, err, "RescueJobs")
	c3 := claimOne(t, s, tenantA, worker1, at(121), at(151))
	if c3.Attempt != 3 || c3.NextSeq != 10 {
		t.Fatalf("third claim: attempt %d NextSeq %d, want 3 and 10", c3.Attempt, c3.NextSeq)
	}
}

// Concurrent claimers never get the same job twice.
func testClaimConcurrent(t *testing.T, s runbooker.Store) {
	const jobs, claimers = 500, 8
	for i := range jobs {
		createJob(t, s, newJob([]string{tenantA, tenantB}[i%2], group, at(float64(i)/1000)))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for w := range claimers {
		wg.Go(func() {
			for {
				js, err := s.ClaimJobs(t.Context(), runbooker.ClaimParams{Group: group, WorkerID: worker1,
					Limit: 1 + w%5, Now: at(1), LeaseUntil: at(31)})
				if err != nil {
					errs <- err
					return
				}
				if len(js) == 0 {
					return
				}
				mu.Lock()
				for _, j := range js {
					seen[j.ID]++
					if j.Attempt != 1 {
						t.Errorf("job %s claimed with attempt %d", j.ID, j.Attempt)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent ClaimJobs: %v", err)
	}
	if len(seen) != jobs {
		t.Fatalf("claimed %d distinct jobs, want %d", len(seen), jobs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("job %s claimed %d times", id, n)
		}
	}
}

// StartJob is fenced by attempt; a retried start of a Running attempt
// succeeds; a stop requested while Activating wins over the start.
func testStartJob(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	j := createJob(t, s, newJob(tenantA, group, at(0)))
	wantCode(t, s.StartJob(ctx, runbooker.JobRef{ID: j.ID, Attempt: 0}, at(1)), runbooker.ECONFLICT, "StartJob of an unclaimed job")
	c := claimOne(t, s, tenantA, worker1, at(1), at(31))
	wantCode(t, s.StartJob(ctx, runbooker.JobRef{ID: c.ID, Attempt: c.Attempt + 1}, at(2)), runbooker.ECONFLICT, "StartJob with a future attempt")
	wantCode(t, s.StartJob(ctx, runbooker.JobRef{ID: c.ID, Attempt: c.Attempt - 1}, at(2)), runbooker.ECONFLICT, "StartJob with a stale attempt")
	wantStatus(t, s, tenantA, c.ID, runbooker.StatusActivating)

	ok(t, s.StartJob(ctx, ref(c), at(2)), "StartJob")
	got := wantStatus(t, s, tenantA, c.ID, runbooker.StatusRunning)
	wantTime(t, got.StartedAt, at(2), "StartedAt")
	wantTime(t, got.LastModifiedAt, at(2), "LastModifiedAt")
	ok(t, s.StartJob(ctx, ref(c), at(3)), "StartJob retried")
	wantStatus(t, s, tenantA, c.ID, runbooker.StatusRunning)
	wantCode(t, s.StartJob(ctx, runbooker.JobRef{ID: runbooker.NewUUID(), Attempt: 1}, at(3)), runbooker.ENOTFOUND, "StartJob unknown")

	createJob(t, s, newJob(tenantA, group, at(4)))
	c2 := claimOne(t, s, tenantA, worker1, at(5), at(35))
	if _, err := s.RequestStop(ctx, tenantA, c2.ID, at(6)); err != nil {
		t.Fatal(err)
	}
	ok(t, s.StartJob(ctx, ref(c2), at(7)), "StartJob of an attempt asked to stop")
	wantStatus(t, s, tenantA, c2.ID, runbooker.StatusStopping)
}

// ExtendLeases answers per attempt, in order: held attempts get the new
// lease and their status (Stopping when a stop is pending); stale attempts,
// jobs held by another worker, finished and unknown jobs are Lost.
func testExtendLeases(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	run := runningJob(t, s, tenantA, at(0))
	createJob(t, s, newJob(tenantA, group, at(1)))
	act := claimOne(t, s, tenantA, worker1, at(1), at(31))
	createJob(t, s, newJob(tenantB, group, at(2)))
	other := claimOne(t, s, tenantB, worker2, at(2), at(32))
	done := runningJob(t, s, tenantA, at(3))
	if _, err := s.FinishJob(ctx, runbooker.FinishParams{Ref: ref(done), Status: runbooker.StatusCompleted, Now: at(4)}); err != nil {
		t.Fatal(err)
	}
	unknown := runbooker.JobRef{ID: runbooker.NewUUID(), Attempt: 1}
	stale := runbooker.JobRef{ID: run.ID, Attempt: run.Attempt - 1}

	refs := []runbooker.JobRef{ref(run), ref(act), ref(other), ref(done), unknown, stale}
	states, err := s.ExtendLeases(ctx, runbooker.LeaseParams{WorkerID: worker1, Refs: refs, Now: at(20), Until: at(50)})
	ok(t, err, "ExtendLeases")
	if len(states) != len(refs) {
		t.Fatalf("ExtendLeases returned %d states for %d refs", len(states), len(refs))
	}
	want := []struct {
		lost   bool
		status runbooker.JobStatus
	}{
		{false, runbooker.StatusRunning}, {false, runbooker.StatusActivating}, {true, runbooker.StatusActivating},
		{true, runbooker.StatusCompleted}, {true, ""}, {true, runbooker.StatusRunning},
	}
	for i, st := range states {
		if st.Ref != refs[i] || st.Lost != want[i].lost || (want[i].status != "" && st.Status != want[i].status) {
			t.Errorf("state %d = %+v, want ref %+v lost %v status %q", i, st, refs[i], want[i].lost, want[i].status)
		}
	}
	wantTime(t, getJob(t, s, tenantA, run.ID).LeaseExpiresAt, at(50), "extended lease")
	wantTime(t, getJob(t, s, tenantA, act.ID).LeaseExpiresAt, at(50), "extended lease (Activating)")
	wantTime(t, getJob(t, s, tenantB, other.ID).LeaseExpiresAt, at(32), "lease of another worker's job")

	if _, err := s.RequestStop(ctx, tenantA, run.ID, at(21)); err != nil {
		t.Fatal(err)
	}
	states, err = s.ExtendLeases(ctx, runbooker.LeaseParams{WorkerID: worker1, Refs: refs[:1], Now: at(22), Until: at(52)})
	ok(t, err, "ExtendLeases after stop")
	if len(states) != 1 || states[0].Lost || states[0].Status != runbooker.StatusStopping {
		t.Fatalf("state of a job asked to stop = %+v, want held and Stopping", states)
	}
}

// FinishAndClaim ends an attempt (with its records) and claims the next
// jobs for the same worker in one call, oldest first, as FinishJob and
// ClaimJobs would one after the other. A fenced finish still claims (the
// slot is free), a retried one answers as FinishJob does, and a limit of 0
// only finishes.
func testFinishAndClaim(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	a := runningJob(t, s, tenantA, at(0))
	next := []*runbooker.Job{createJob(t, s, newJob(tenantA, group, at(2))), createJob(t, s, newJob(tenantB, group, at(1)))}
	recs := records(1, 3, at(3))
	claim := runbooker.ClaimParams{Group: group, WorkerID: worker1, Limit: 1, Now: at(4), LeaseUntil: at(34)}
	done, got, err := s.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref(a), Status: runbooker.StatusCompleted, Now: at(4), Records: recs}, claim)
	ok(t, err, "FinishAndClaim")
	if done == nil || done.ID != a.ID || done.Status != runbooker.StatusCompleted {
		t.Fatalf("finished job = %+v", done)
	}
	wantTime(t, done.EndedAt, at(4), "EndedAt")
	stored, err := s.Streams(ctx, tenantA, a.ID, runbooker.StreamFilter{})
	ok(t, err, "Streams")
	if len(stored) != 3 || stored[2].Text != "line 3" {
		t.Fatalf("the finish's records: %+v", stored)
	}
	if len(got) != 1 || got[0].ID != next[1].ID || got[0].Status != runbooker.StatusActivating || got[0].Attempt != 1 ||
		got[0].WorkerID != worker1 || got[0].NextSeq != 1 {
		t.Fatalf("claimed with the finish: %+v, want the oldest job %s Activating for %s", got, next[1].ID, worker1)
	}
	wantTime(t, got[0].LeaseExpiresAt, at(34), "claimed LeaseExpiresAt")
	wantStatus(t, s, tenantB, next[1].ID, runbooker.StatusActivating)
	b := got[0]

	// The same finish again (a retried delivery): answered, and claims on.
	claim.Limit = 5
	done, got, err = s.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref(a), Status: runbooker.StatusCompleted, Now: at(5)}, claim)
	ok(t, err, "retried FinishAndClaim")
	if done == nil || done.Status != runbooker.StatusCompleted || !slices.Equal(jobIDs(got), []string{next[0].ID}) {
		t.Fatalf("retried finish: %+v, claimed %v", done, jobIDs(got))
	}
	wantTime(t, done.EndedAt, at(4), "EndedAt after a retried finish")
	b2 := got[0]

	// A fenced finish: refused as FinishJob refuses it, yet the claim holds.
	c := createJob(t, s, newJob(tenantA, group, at(6)))
	done, got, err = s.FinishAndClaim(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: a.ID, Attempt: 7}, Status: runbooker.StatusFailed, Now: at(7)}, claim)
	if runbooker.ErrorCode(err) != runbooker.ECONFLICT || done != nil {
		t.Fatalf("fenced finish = %+v, %v; want ECONFLICT", done, err)
	}
	if !slices.Equal(jobIDs(got), []string{c.ID}) {
		t.Fatalf("a fenced finish claimed %v, want [%s]", jobIDs(got), c.ID)
	}
	wantStatus(t, s, tenantA, c.ID, runbooker.StatusActivating)
	// So does a finish of a job that does not exist.
	c2 := createJob(t, s, newJob(tenantA, group, at(6.5)))
	done, got, err = s.FinishAndClaim(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: "no-such-job", Attempt: 1}, Status: runbooker.StatusFailed, Now: at(7)}, claim)
	if runbooker.ErrorCode(err) != runbooker.ENOTFOUND || done != nil || !slices.Equal(jobIDs(got), []string{c2.ID}) {
		t.Fatalf("finish of an unknown job = %+v, claimed %v, %v; want ENOTFOUND and the claim", done, jobIDs(got), err)
	}

	// Tenant and language conditions apply as in ClaimJobs; limit 0 only finishes.
	d := createJob(t, s, newJob(tenantB, group, at(8)))
	e := createJob(t, s, newJob(tenantA, group, at(8.5))) // PowerShell
	claim.TenantID, claim.Languages = tenantA, []runbooker.Language{runbooker.LangBash}
	_, got, err = s.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref(b), Status: runbooker.StatusFailed, Exception: "x", Now: at(9)}, claim)
	ok(t, err, "FinishAndClaim for tenant A")
	if len(got) != 0 {
		t.Fatalf("a claim for tenant A took %v", jobIDs(got))
	}
	wantStatus(t, s, tenantB, next[1].ID, runbooker.StatusFailed)
	claim.Limit = 0
	done, got, err = s.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref(b2), Status: runbooker.StatusCompleted, Now: at(10)}, claim)
	ok(t, err, "FinishAndClaim with limit 0")
	if done.Status != runbooker.StatusCompleted || len(got) != 0 {
		t.Fatalf("limit 0: %+v, claimed %v", done, jobIDs(got))
	}
	wantStatus(t, s, tenantB, d.ID, runbooker.StatusNew)
	wantStatus(t, s, tenantA, e.ID, runbooker.StatusNew)
	if _, _, err := s.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref(c), Status: runbooker.StatusNew}, claim); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("finishing as New: %v, want EINVALID", err)
	}
}
