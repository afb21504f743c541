package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

func rescue(t *testing.T, s runbooker.Store, sec float64, maxAttempts int) []runbooker.RescuedJob {
	t.Helper()
	r, err := s.RescueJobs(t.Context(), runbooker.RescueParams{Now: at(sec), MaxAttempts: maxAttempts})
	ok(t, err, "RescueJobs")
	return r
}

func wantRescued(t *testing.T, got []runbooker.RescuedJob, j *runbooker.Job, from, to runbooker.JobStatus) {
	t.Helper()
	want := runbooker.RescuedJob{ID: j.ID, TenantID: j.TenantID, RunOn: j.RunOn, From: from, To: to}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("RescueJobs = %+v, want [%+v]", got, want)
	}
}

// wantLostWarning checks the last record is the rescuer's Warning: seq one
// past the previous maximum, written at the rescue time, saying the worker
// was lost and in which attempt (the text contains "lost" and "attempt N").
func wantLostWarning(t *testing.T, recs []runbooker.StreamRecord, seq int64, attempt int, sec float64) {
	t.Helper()
	if len(recs) == 0 {
		t.Fatal("no records; want the rescuer's Warning")
	}
	w := recs[len(recs)-1]
	if w.Seq != seq || w.Type != runbooker.StreamWarning || !w.Time.Equal(at(sec)) {
		t.Fatalf("rescue record = %+v, want a Warning with seq %d at %v", w, seq, at(sec))
	}
	if !strings.Contains(strings.ToLower(w.Text), "lost") || !strings.Contains(w.Text, fmt.Sprintf("attempt %d", attempt)) {
		t.Fatalf("rescue warning %q must say the worker was lost and name attempt %d", w.Text, attempt)
	}
}

// An expired Activating attempt is re-queued without a record or a loss.
func testRescueActivating(t *testing.T, s runbooker.Store) {
	createJob(t, s, newJob(tenantA, group, at(0)))
	c := claimOne(t, s, tenantA, worker1, at(0), at(30))
	wantRescued(t, rescue(t, s, 60, 3), c, runbooker.StatusActivating, runbooker.StatusNew)
	j := wantStatus(t, s, tenantA, c.ID, runbooker.StatusNew)
	if j.LostCount != 0 || j.Attempt != 1 {
		t.Fatalf("re-queued Activating job: lost %d attempt %d, want 0 and 1", j.LostCount, j.Attempt)
	}
	wantTime(t, j.LastModifiedAt, at(60), "LastModifiedAt after rescue")
	if recs := streams(t, s, tenantA, c.ID, runbooker.StreamFilter{}); len(recs) != 0 {
		t.Fatalf("rescue of an Activating job wrote %d records", len(recs))
	}
	states, err := s.ExtendLeases(t.Context(), runbooker.LeaseParams{WorkerID: worker1, Refs: []runbooker.JobRef{ref(c)}, Now: at(61), Until: at(91)})
	ok(t, err, "ExtendLeases")
	if !states[0].Lost {
		t.Fatal("lease of a re-queued attempt was not reported lost")
	}
	if len(rescue(t, s, 61, 3)) != 0 {
		t.Fatal("a second rescue pass found work")
	}
	if c2 := claimOne(t, s, tenantA, worker2, at(62), at(92)); c2.Attempt != 2 {
		t.Fatalf("re-claim attempt = %d, want 2", c2.Attempt)
	}
}

// An expired Running attempt is re-queued with a Warning and LostCount+1;
// the late worker is fenced off everywhere.
func testRescueRunning(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	c := runningJob(t, s, tenantA, at(0))
	ok(t, s.AppendStreams(ctx, ref(c), records(1, 3, at(1))), "AppendStreams")
	wantRescued(t, rescue(t, s, 60, 3), c, runbooker.StatusRunning, runbooker.StatusNew)
	j := wantStatus(t, s, tenantA, c.ID, runbooker.StatusNew)
	if j.LostCount != 1 {
		t.Fatalf("LostCount = %d, want 1", j.LostCount)
	}
	recs := streams(t, s, tenantA, c.ID, runbooker.StreamFilter{})
	wantSeqs(t, recs, []int64{1, 2, 3, 4}, "records after rescue")
	wantLostWarning(t, recs, 4, 1, 60)

	wantCode(t, s.StartJob(ctx, ref(c), at(61)), runbooker.ECONFLICT, "StartJob by the lost worker")
	_, err := finish(s, t, ref(c), runbooker.StatusCompleted, "", 61)
	wantCode(t, err, runbooker.ECONFLICT, "FinishJob by the lost worker")
	wantStatus(t, s, tenantA, c.ID, runbooker.StatusNew)
}

// Once a job has lost its worker MaxAttempts times it is Suspended, with a
// Warning and a StatusReason.
func testRescueSuspends(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	j := createJob(t, s, newJob(tenantA, group, at(0)))
	for i := 1; i <= 3; i++ {
		base := float64(i * 100)
		c := claimOne(t, s, tenantA, worker1, at(base), at(base+30))
		if c.Attempt != i || c.NextSeq != int64(i) {
			t.Fatalf("claim %d: attempt %d NextSeq %d", i, c.Attempt, c.NextSeq)
		}
		ok(t, s.StartJob(ctx, ref(c), at(base)), "StartJob")
		want := runbooker.StatusNew
		if i == 3 {
			want = runbooker.StatusSuspended
		}
		wantRescued(t, rescue(t, s, base+60, 3), j, runbooker.StatusRunning, want)
		got := wantStatus(t, s, tenantA, j.ID, want)
		if got.LostCount != i {
			t.Fatalf("after loss %d: LostCount %d", i, got.LostCount)
		}
		recs := streams(t, s, tenantA, j.ID, runbooker.StreamFilter{})
		wantSeqs(t, recs, seqRange(1, int64(i)), fmt.Sprintf("warnings after loss %d", i))
		wantLostWarning(t, recs, int64(i), i, base+60)
		if i == 3 && got.StatusReason == "" {
			t.Fatal("Suspended job has no StatusReason")
		}
	}
	js, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker1, Limit: 1, Now: at(500), LeaseUntil: at(530)})
	ok(t, err, "ClaimJobs")
	if len(js) != 0 {
		t.Fatal("a Suspended job was claimed")
	}
}

// An expired Stopping attempt ends Stopped.
func testRescueStopping(t *testing.T, s runbooker.Store) {
	c := runningJob(t, s, tenantA, at(0))
	if _, err := s.RequestStop(t.Context(), tenantA, c.ID, at(5)); err != nil {
		t.Fatal(err)
	}
	wantRescued(t, rescue(t, s, 60, 3), c, runbooker.StatusStopping, runbooker.StatusStopped)
	j := wantStatus(t, s, tenantA, c.ID, runbooker.StatusStopped)
	wantTime(t, j.EndedAt, at(60), "EndedAt")
}

// Leases that have not expired, and jobs without one, are left alone.
func testRescueUnexpired(t *testing.T, s runbooker.Store) {
	c := runningJob(t, s, tenantA, at(0)) // lease until 30
	states, err := s.ExtendLeases(t.Context(), runbooker.LeaseParams{WorkerID: worker1, Refs: []runbooker.JobRef{ref(c)}, Now: at(20), Until: at(90)})
	ok(t, err, "ExtendLeases")
	if states[0].Lost {
		t.Fatal("lease lost")
	}
	queued := createJob(t, s, newJob(tenantA, "nobody-listens", at(0)))
	if got := rescue(t, s, 60, 3); len(got) != 0 {
		t.Fatalf("RescueJobs touched unexpired jobs: %+v", got)
	}
	j := wantStatus(t, s, tenantA, c.ID, runbooker.StatusRunning)
	if j.Attempt != 1 || j.LostCount != 0 {
		t.Fatalf("unexpired job changed: attempt %d lost %d", j.Attempt, j.LostCount)
	}
	wantStatus(t, s, tenantA, queued.ID, runbooker.StatusNew)
	wantRescued(t, rescue(t, s, 91, 3), c, runbooker.StatusRunning, runbooker.StatusNew)
}

// Two rescuers at once process every expired job exactly once.
func testRescueConcurrent(t *testing.T, s runbooker.Store) {
	const n = 100
	ids := map[string]string{}
	for i := range n {
		tenant := []string{tenantA, tenantB}[i%2]
		c := runningJob(t, s, tenant, at(float64(i)/100))
		ids[c.ID] = tenant
	}
	var wg sync.WaitGroup
	results := make([][]runbooker.RescuedJob, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = s.RescueJobs(t.Context(), runbooker.RescueParams{Now: at(100), MaxAttempts: 3})
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range results {
		ok(t, errs[i], "concurrent RescueJobs")
		for _, r := range results[i] {
			seen[r.ID]++
			if r.TenantID != ids[r.ID] || r.To != runbooker.StatusNew {
				t.Errorf("rescued %+v, want tenant %s and To New", r, ids[r.ID])
			}
		}
	}
	if len(seen) != n {
		t.Fatalf("rescued %d distinct jobs, want %d", len(seen), n)
	}
	for id, tenant := range ids {
		if seen[id] != 1 {
			t.Fatalf("job %s rescued %d times", id, seen[id])
		}
		j := getJob(t, s, tenant, id)
		recs := streams(t, s, tenant, id, runbooker.StreamFilter{})
		if j.LostCount != 1 || len(recs) != 1 {
			t.Fatalf("job %s: LostCount %d, %d records; want 1 and 1", id, j.LostCount, len(recs))
		}
	}
}

// PurgeJobs deletes terminal jobs that ended strictly before the cutoff,
// with their records, and nothing else.
func testPurgeJobs(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	completed := runningJob(t, s, tenantA, at(0))
	ok(t, s.AppendStreams(ctx, ref(completed), records(1, 50, at(1))), "AppendStreams")
	if _, err := finish(s, t, ref(completed), runbooker.StatusCompleted, "", 10); err != nil {
		t.Fatal(err)
	}
	failed := runningJob(t, s, tenantB, at(1))
	if _, err := finish(s, t, ref(failed), runbooker.StatusFailed, "boom", 20); err != nil {
		t.Fatal(err)
	}
	stopped := createJob(t, s, newJob(tenantA, "elsewhere", at(2)))
	if _, err := s.RequestStop(ctx, tenantA, stopped.ID, at(30)); err != nil {
		t.Fatal(err)
	}
	late := runningJob(t, s, tenantA, at(3))
	if _, err := finish(s, t, ref(late), runbooker.StatusCompleted, "", 100); err != nil {
		t.Fatal(err)
	}
	running := runningJob(t, s, tenantA, at(4))
	queued := createJob(t, s, newJob(tenantA, "elsewhere", at(5)))
	susp := suspendedJob(t, s, tenantA, at(6)) // rescued at 66

	n, err := s.PurgeJobs(ctx, at(50))
	ok(t, err, "PurgeJobs")
	if n != 3 {
		t.Fatalf("PurgeJobs = %d, want 3", n)
	}
	for _, j := range []*runbooker.Job{completed, failed, stopped} {
		_, err := s.Job(ctx, j.TenantID, j.ID)
		wantCode(t, err, runbooker.ENOTFOUND, "Job after purge")
		_, err = s.Streams(ctx, j.TenantID, j.ID, runbooker.StreamFilter{})
		wantCode(t, err, runbooker.ENOTFOUND, "Streams after purge")
	}
	for _, j := range []*runbooker.Job{late, running, queued, susp} {
		getJob(t, s, tenantA, j.ID)
	}
	if n, err := s.PurgeJobs(ctx, at(100)); err != nil || n != 0 {
		t.Fatalf("PurgeJobs at the exact end time = %d, %v; want 0 (strictly before)", n, err)
	}
	if n, err := s.PurgeJobs(ctx, at(100).Add(time.Microsecond)); err != nil || n != 1 {
		t.Fatalf("PurgeJobs just after = %d, %v; want 1", n, err)
	}
	for _, j := range []*runbooker.Job{running, queued, susp} {
		getJob(t, s, tenantA, j.ID)
	}
}
