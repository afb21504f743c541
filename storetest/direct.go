package storetest

import (
	"context"
	"testing"

	"github.com/runbooker/runbooker"
)

// testDirectDispatch: a job created with a worker is created claimed —
// Activating, attempt 1, that worker and lease — and behaves like a
// claimed job from then on (no claim sees it, fencing and finish work).
func testDirectDispatch(t *testing.T, s runbooker.Store) {
	ctx := context.Background()
	j := newJob(tenantA, group, at(1))
	j.WorkerID, j.LeaseExpiresAt = worker1, at(31)
	createJob(t, s, j)
	if j.Status != runbooker.StatusActivating || j.Attempt != 1 || j.NextSeq != 1 {
		t.Fatalf("direct job returned as %s attempt %d nextSeq %d", j.Status, j.Attempt, j.NextSeq)
	}
	got, err := s.Job(ctx, tenantA, j.ID)
	ok(t, err, "Job")
	if got.Status != runbooker.StatusActivating || got.Attempt != 1 || got.WorkerID != worker1 {
		t.Fatalf("stored direct job: %s attempt %d worker %q", got.Status, got.Attempt, got.WorkerID)
	}
	wantTime(t, got.LeaseExpiresAt, at(31), "lease")
	jobs, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker2, Limit: 10, Now: at(2), LeaseUntil: at(32)})
	ok(t, err, "ClaimJobs")
	if len(jobs) != 0 {
		t.Fatalf("a directly dispatched job was claimed again")
	}
	ref := runbooker.JobRef{ID: j.ID, Attempt: 1}
	ok(t, s.StartJob(ctx, ref, at(3)), "StartJob")
	_, err = s.FinishJob(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted, Now: at(4),
		Records: []runbooker.StreamRecord{{Seq: 1, Time: at(3.5), Type: runbooker.StreamOutput, Text: "ok"}}})
	ok(t, err, "FinishJob")
	// Without a lease a direct job is refused; a lease without a worker is ignored.
	bad := newJob(tenantA, group, at(5))
	bad.WorkerID = worker1
	wantCode(t, s.CreateJob(ctx, bad), runbooker.EINVALID, "direct job without lease")
	plain := newJob(tenantA, group, at(6))
	plain.LeaseExpiresAt = at(40)
	createJob(t, s, plain)
	if plain.Status != runbooker.StatusNew || !plain.LeaseExpiresAt.IsZero() {
		t.Errorf("plain job created as %s with lease %v", plain.Status, plain.LeaseExpiresAt)
	}
}

// testClaimLanguages: a claim limited to languages skips, and leaves New,
// the older jobs of other languages; an empty list claims nothing; nil
// claims any.
func testClaimLanguages(t *testing.T, s runbooker.Store) {
	ctx := context.Background()
	ps := createJob(t, s, newJob(tenantA, group, at(1))) // PowerShell
	sh := newJob(tenantA, group, at(2))
	sh.Language = runbooker.LangBash
	createJob(t, s, sh)
	py := newJob(tenantA, group, at(3))
	py.Language = runbooker.LangPython
	createJob(t, s, py)
	jobs, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker1, Limit: 10, Now: at(4), LeaseUntil: at(34),
		Languages: []runbooker.Language{}})
	ok(t, err, "ClaimJobs none")
	if len(jobs) != 0 {
		t.Fatalf("a claim for no language took %d jobs", len(jobs))
	}
	jobs, err = s.ClaimJobs(ctx, runbooker.ClaimParams{TenantID: tenantA, Group: group, WorkerID: worker1, Limit: 10, Now: at(4), LeaseUntil: at(34),
		Languages: []runbooker.Language{runbooker.LangBash, runbooker.LangPython}})
	ok(t, err, "ClaimJobs bash, python")
	if len(jobs) != 2 || jobs[0].ID != sh.ID || jobs[1].ID != py.ID {
		t.Fatalf("claim of bash and python = %v", jobIDs(jobs))
	}
	got, err := s.Job(ctx, tenantA, ps.ID)
	ok(t, err, "Job")
	if got.Status != runbooker.StatusNew {
		t.Fatalf("the skipped PowerShell job is %s", got.Status)
	}
	jobs, err = s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker2, Limit: 10, Now: at(5), LeaseUntil: at(35)})
	ok(t, err, "ClaimJobs any")
	if len(jobs) != 1 || jobs[0].ID != ps.ID {
		t.Fatalf("claim of any language = %v", jobIDs(jobs))
	}
}
