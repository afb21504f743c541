package storetest

import (
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

func finish(s runbooker.Store, t *testing.T, r runbooker.JobRef, status runbooker.JobStatus, exc string, sec float64) (*runbooker.Job, error) {
	return s.FinishJob(t.Context(), runbooker.FinishParams{Ref: r, Status: status, Exception: exc, Now: at(sec)})
}

// FinishJob is fenced; a retried delivery of the same finish returns the job
// unchanged; a different ending for an ended attempt is ECONFLICT.
func testFinishJob(t *testing.T, s runbooker.Store) {
	c := runningJob(t, s, tenantA, at(0))
	_, err := finish(s, t, runbooker.JobRef{ID: c.ID, Attempt: c.Attempt + 1}, runbooker.StatusCompleted, "", 5)
	wantCode(t, err, runbooker.ECONFLICT, "FinishJob with a wrong attempt")
	_, err = finish(s, t, ref(c), runbooker.StatusRunning, "", 5)
	wantCode(t, err, runbooker.EINVALID, "FinishJob as Running")
	_, err = finish(s, t, runbooker.JobRef{ID: runbooker.NewUUID(), Attempt: 1}, runbooker.StatusCompleted, "", 5)
	wantCode(t, err, runbooker.ENOTFOUND, "FinishJob unknown")
	wantStatus(t, s, tenantA, c.ID, runbooker.StatusRunning)

	j, err := finish(s, t, ref(c), runbooker.StatusFailed, "Exception: user not found", 5)
	ok(t, err, "FinishJob")
	if j.ID != c.ID || j.Status != runbooker.StatusFailed || j.Exception != "Exception: user not found" || j.Attempt != c.Attempt {
		t.Fatalf("FinishJob returned %+v", j)
	}
	wantTime(t, j.EndedAt, at(5), "returned EndedAt")
	got := wantStatus(t, s, tenantA, c.ID, runbooker.StatusFailed)
	wantTime(t, got.EndedAt, at(5), "EndedAt")
	wantTime(t, got.LastModifiedAt, at(5), "LastModifiedAt")
	if got.Exception != "Exception: user not found" {
		t.Errorf("Exception = %q", got.Exception)
	}

	again, err := finish(s, t, ref(c), runbooker.StatusFailed, "Exception: user not found", 9)
	ok(t, err, "FinishJob retried")
	if again.Status != runbooker.StatusFailed {
		t.Errorf("retried FinishJob returned status %s", again.Status)
	}
	wantTime(t, again.EndedAt, at(5), "EndedAt after a retried finish")
	wantTime(t, getJob(t, s, tenantA, c.ID).EndedAt, at(5), "stored EndedAt after a retried finish")
	_, err = finish(s, t, ref(c), runbooker.StatusCompleted, "", 9)
	wantCode(t, err, runbooker.ECONFLICT, "FinishJob with another ending")

	// Finishing straight from Activating (the process never started) works,
	// as does Completed without an exception.
	createJob(t, s, newJob(tenantA, group, at(10)))
	a := claimOne(t, s, tenantA, worker1, at(10), at(40))
	j, err = finish(s, t, ref(a), runbooker.StatusCompleted, "", 11)
	ok(t, err, "FinishJob from Activating")
	if j.Status != runbooker.StatusCompleted || j.Exception != "" {
		t.Fatalf("FinishJob from Activating returned %s %q", j.Status, j.Exception)
	}

	// A Stopping attempt finishes as Stopped.
	st := runningJob(t, s, tenantA, at(20))
	if _, err := s.RequestStop(t.Context(), tenantA, st.ID, at(21)); err != nil {
		t.Fatal(err)
	}
	j, err = finish(s, t, ref(st), runbooker.StatusStopped, "", 22)
	ok(t, err, "FinishJob of a Stopping job")
	if j.Status != runbooker.StatusStopped {
		t.Fatalf("Stopping job finished as %s", j.Status)
	}
	// The script may have completed before the stop reached it.
	raced := runningJob(t, s, tenantA, at(30))
	if _, err := s.RequestStop(t.Context(), tenantA, raced.ID, at(31)); err != nil {
		t.Fatal(err)
	}
	j, err = finish(s, t, ref(raced), runbooker.StatusCompleted, "", 32)
	ok(t, err, "FinishJob of a Stopping job as Completed")
	if j.Status != runbooker.StatusCompleted {
		t.Fatalf("Stopping job that completed is %s", j.Status)
	}
}

// RequestStop: New and Suspended stop at once; Activating and Running become
// Stopping; Stopping and terminal jobs are returned as they are.
func testRequestStop(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	stop := func(tenant, id string, sec float64) *runbooker.Job {
		t.Helper()
		j, err := s.RequestStop(ctx, tenant, id, at(sec))
		ok(t, err, "RequestStop")
		return j
	}

	queued := createJob(t, s, newJob(tenantA, "elsewhere", at(0)))
	_, err := s.RequestStop(ctx, tenantB, queued.ID, at(1))
	wantCode(t, err, runbooker.ENOTFOUND, "RequestStop of another tenant's job")
	_, err = s.RequestStop(ctx, tenantA, runbooker.NewUUID(), at(1))
	wantCode(t, err, runbooker.ENOTFOUND, "RequestStop unknown")
	wantStatus(t, s, tenantA, queued.ID, runbooker.StatusNew)
	j := stop(tenantA, queued.ID, 1)
	if j.Status != runbooker.StatusStopped {
		t.Fatalf("stopped New job is %s, want Stopped", j.Status)
	}
	wantTime(t, j.EndedAt, at(1), "EndedAt of a stopped New job")
	js, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: "elsewhere", WorkerID: worker1, Limit: 5, Now: at(2), LeaseUntil: at(32)})
	ok(t, err, "ClaimJobs")
	if len(js) != 0 {
		t.Fatal("a stopped job was claimed")
	}

	createJob(t, s, newJob(tenantA, group, at(2)))
	act := claimOne(t, s, tenantA, worker1, at(2), at(32))
	if j := stop(tenantA, act.ID, 3); j.Status != runbooker.StatusStopping || !j.EndedAt.IsZero() {
		t.Fatalf("stopped Activating job is %s (ended %v), want Stopping", j.Status, j.EndedAt)
	}
	run := runningJob(t, s, tenantA, at(4))
	if j := stop(tenantA, run.ID, 5); j.Status != runbooker.StatusStopping {
		t.Fatalf("stopped Running job is %s, want Stopping", j.Status)
	}
	if j := stop(tenantA, run.ID, 6); j.Status != runbooker.StatusStopping {
		t.Fatalf("second stop of a Stopping job gave %s", j.Status)
	}

	susp := suspendedJob(t, s, tenantA, at(10))
	j = stop(tenantA, susp.ID, 100)
	if j.Status != runbooker.StatusStopped {
		t.Fatalf("stopped Suspended job is %s, want Stopped", j.Status)
	}
	wantTime(t, j.EndedAt, at(100), "EndedAt of a stopped Suspended job")

	done := runningJob(t, s, tenantA, at(110))
	if _, err := finish(s, t, ref(done), runbooker.StatusCompleted, "", 111); err != nil {
		t.Fatal(err)
	}
	j = stop(tenantA, done.ID, 112)
	if j.Status != runbooker.StatusCompleted {
		t.Fatalf("stop of a Completed job changed it to %s", j.Status)
	}
	wantTime(t, j.EndedAt, at(111), "EndedAt of a Completed job after a stop request")
	if j := stop(tenantA, queued.ID, 113); j.Status != runbooker.StatusStopped {
		t.Fatalf("second stop of a Stopped job gave %s", j.Status)
	}
}

// suspendedJob runs a job and loses its worker once with MaxAttempts 1.
func suspendedJob(t *testing.T, s runbooker.Store, tenant string, now time.Time) *runbooker.Job {
	t.Helper()
	c := runningJob(t, s, tenant, now)
	_, err := s.RescueJobs(t.Context(), runbooker.RescueParams{Now: now.Add(time.Minute), MaxAttempts: 1})
	ok(t, err, "RescueJobs")
	wantStatus(t, s, tenant, c.ID, runbooker.StatusSuspended)
	return c
}

// ResumeJob re-queues a Suspended job with LostCount 0; anything else is EINVALID.
func testResumeJob(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	susp := suspendedJob(t, s, tenantA, at(0))
	_, err := s.ResumeJob(ctx, tenantB, susp.ID, at(70))
	wantCode(t, err, runbooker.ENOTFOUND, "ResumeJob of another tenant's job")
	_, err = s.ResumeJob(ctx, tenantA, runbooker.NewUUID(), at(70))
	wantCode(t, err, runbooker.ENOTFOUND, "ResumeJob unknown")

	j, err := s.ResumeJob(ctx, tenantA, susp.ID, at(70))
	ok(t, err, "ResumeJob")
	if j.Status != runbooker.StatusNew || j.LostCount != 0 || j.StatusReason != "" {
		t.Fatalf("resumed job: %s lost %d reason %q; want New, 0, none", j.Status, j.LostCount, j.StatusReason)
	}
	got := wantStatus(t, s, tenantA, susp.ID, runbooker.StatusNew)
	if got.LostCount != 0 {
		t.Fatalf("stored LostCount after resume = %d", got.LostCount)
	}
	wantTime(t, got.LastModifiedAt, at(70), "LastModifiedAt after resume")
	_, err = s.ResumeJob(ctx, tenantA, susp.ID, at(71))
	wantCode(t, err, runbooker.EINVALID, "ResumeJob of a New job")

	c := claimOne(t, s, tenantA, worker2, at(72), at(102))
	if c.ID != susp.ID || c.Attempt != 2 {
		t.Fatalf("claim after resume: %s attempt %d, want %s attempt 2", c.ID, c.Attempt, susp.ID)
	}
	_, err = s.ResumeJob(ctx, tenantA, c.ID, at(73))
	wantCode(t, err, runbooker.EINVALID, "ResumeJob of an Activating job")
	ok(t, s.StartJob(ctx, ref(c), at(73)), "StartJob")
	_, err = s.ResumeJob(ctx, tenantA, c.ID, at(74))
	wantCode(t, err, runbooker.EINVALID, "ResumeJob of a Running job")
	if _, err := finish(s, t, ref(c), runbooker.StatusCompleted, "", 75); err != nil {
		t.Fatal(err)
	}
	_, err = s.ResumeJob(ctx, tenantA, c.ID, at(76))
	wantCode(t, err, runbooker.EINVALID, "ResumeJob of a Completed job")
}

// FinishJob stores FinishParams.Records with the finish, by AppendStreams'
// rules, and takes StartedAt when the job has no start time yet.
func testFinishJobRecords(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	createJob(t, s, newJob(tenantA, group, at(0)))
	a := claimOne(t, s, tenantA, worker1, at(1), at(31)) // a short job: its start was never reported
	p := runbooker.FinishParams{Ref: ref(a), Status: runbooker.StatusCompleted, Now: at(3), StartedAt: at(2),
		Records: records(1, 3, at(2))}
	j, err := s.FinishJob(ctx, p)
	ok(t, err, "FinishJob with records")
	wantTime(t, j.StartedAt, at(2), "StartedAt from the finish")
	wantTime(t, getJob(t, s, tenantA, a.ID).StartedAt, at(2), "stored StartedAt from the finish")
	wantSeqs(t, streams(t, s, tenantA, a.ID, runbooker.StreamFilter{}), []int64{1, 2, 3}, "records of the finish")
	p.Now = at(9)
	if _, err := s.FinishJob(ctx, p); err != nil {
		t.Fatalf("retried finish with records: %v", err)
	}
	wantSeqs(t, streams(t, s, tenantA, a.ID, runbooker.StreamFilter{}), []int64{1, 2, 3}, "records after a retried finish")

	r := runningJob(t, s, tenantA, at(10)) // started at 10
	ok(t, s.AppendStreams(ctx, ref(r), records(1, 5, at(11))), "AppendStreams")
	stale := runbooker.FinishParams{Ref: runbooker.JobRef{ID: r.ID, Attempt: r.Attempt + 1}, Status: runbooker.StatusFailed,
		Now: at(12), Records: records(6, 2, at(12))}
	_, err = s.FinishJob(ctx, stale)
	wantCode(t, err, runbooker.ECONFLICT, "FinishJob with records and a wrong attempt")
	wantSeqs(t, streams(t, s, tenantA, r.ID, runbooker.StreamFilter{}), seqRange(1, 5), "records after a fenced finish")

	last := records(4, 4, at(13)) // 4 and 5 are stored already
	last[0].Text = "resent with another text"
	j, err = s.FinishJob(ctx, runbooker.FinishParams{Ref: ref(r), Status: runbooker.StatusFailed, Exception: "boom",
		Now: at(14), StartedAt: at(13), Records: last})
	ok(t, err, "FinishJob with overlapping records")
	wantTime(t, j.StartedAt, at(10), "StartedAt kept when already set")
	wantTime(t, getJob(t, s, tenantA, r.ID).StartedAt, at(10), "stored StartedAt kept when already set")
	recs := streams(t, s, tenantA, r.ID, runbooker.StreamFilter{})
	wantSeqs(t, recs, seqRange(1, 7), "records after an overlapping finish")
	if recs[3].Text != "line 4" {
		t.Fatalf("record 4 = %q, want the first text stored", recs[3].Text)
	}
}
