package storetest

import (
	"testing"

	"github.com/runbooker/runbooker"
)

// testSuspendWaitingCountsFromRequeue: a job resumed (or re-queued) starts
// waiting afresh; SuspendWaiting does not park it again for its old age.
func testSuspendWaitingCountsFromRequeue(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	j := createJob(t, s, newJob(tenantA, group, at(1)))
	ids, err := s.SuspendWaiting(ctx, runbooker.SuspendParams{TenantID: tenantA, Group: group, QueuedBefore: at(5), Reason: "no worker", Now: at(6)})
	ok(t, err, "SuspendWaiting")
	if len(ids) != 1 || ids[0] != j.ID {
		t.Fatalf("parked %v, want %s", ids, j.ID)
	}
	_, err = s.ResumeJob(ctx, tenantA, j.ID, at(20))
	ok(t, err, "ResumeJob")
	ids, err = s.SuspendWaiting(ctx, runbooker.SuspendParams{TenantID: tenantA, Group: group, QueuedBefore: at(10), Reason: "no worker", Now: at(21)})
	ok(t, err, "SuspendWaiting after resume")
	if len(ids) != 0 {
		t.Fatalf("a job resumed at 20 s was parked for waiting since before 10 s")
	}
	wantStatus(t, s, tenantA, j.ID, runbooker.StatusNew)
}
