package storetest

import (
	"testing"

	"github.com/runbooker/runbooker"
)

// QueueStats counts New jobs only, per group name with every tenant's
// together, names each group's oldest creation time, and leaves out groups
// with nothing queued.
func testQueueStats(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	stats, err := s.QueueStats(ctx)
	ok(t, err, "QueueStats of an empty store")
	if len(stats) != 0 {
		t.Fatalf("QueueStats of an empty store = %+v, want none", stats)
	}
	createJob(t, s, newJob(tenantA, group, at(3)))
	createJob(t, s, newJob(tenantB, group, at(2)))
	createJob(t, s, newJob(tenantA, group, at(5)))
	createJob(t, s, newJob(tenantA, "cloud", at(4)))
	claimed := createJob(t, s, newJob(tenantA, "claimed", at(1)))
	js, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: "claimed", WorkerID: worker1, Limit: 1, Now: at(6), LeaseUntil: at(36)})
	ok(t, err, "ClaimJobs")
	if len(js) != 1 || js[0].ID != claimed.ID {
		t.Fatalf("claim took %v", jobIDs(js))
	}

	stats, err = s.QueueStats(ctx)
	ok(t, err, "QueueStats")
	if len(stats) != 2 || stats[0].Group != "cloud" || stats[1].Group != group {
		t.Fatalf("QueueStats = %+v, want cloud then %s", stats, group)
	}
	if stats[0].Queued != 1 || stats[1].Queued != 3 {
		t.Errorf("queued: cloud %d, %s %d; want 1 and 3", stats[0].Queued, group, stats[1].Queued)
	}
	wantTime(t, stats[0].OldestCreatedAt, at(4), "cloud's oldest")
	wantTime(t, stats[1].OldestCreatedAt, at(2), group+"'s oldest")
}
