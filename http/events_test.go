package http

import (
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

func TestEventBrokerRing(t *testing.T) {
	b := newEventBroker()
	job := &runbooker.Job{ID: "j1", TenantID: "t1", RunbookName: "rb", Status: runbooker.StatusNew}

	// Nothing is kept for a tenant no one listens to.
	b.publishEngine(runbooker.LiveEvent{Kind: runbooker.LiveJobCreated, TenantID: "t1", Job: job, JobID: "j1"})
	if _, _, _, last := b.since("t1", 0); last != 0 {
		t.Fatalf("an event was kept before anyone listened: last %d", last)
	}

	// A listener now: a job's start names only the job, and is placed by
	// what the broker knows of it.
	_, wake, _, _ := b.since("t1", 0)
	b.publishEngine(runbooker.LiveEvent{Kind: runbooker.LiveJobCreated, TenantID: "t1", Job: job, JobID: "j1", Status: job.Status})
	select {
	case <-wake:
	default:
		t.Fatal("a listener was not woken")
	}
	b.publishEngine(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, JobID: "j1", Status: runbooker.StatusRunning})
	b.publishEngine(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, JobID: "unknown", Status: runbooker.StatusRunning})
	items, _, lost, last := b.since("t1", 0)
	if lost || last != 2 || len(items) != 2 {
		t.Fatalf("since 0: %d items, last %d, lost %v", len(items), last, lost)
	}
	if d := items[1].data.(JobEvent); d.Status != runbooker.StatusRunning || d.Runbook != "rb" || items[1].job == nil {
		t.Errorf("start event: %+v", d)
	}
	done := *job
	done.Status = runbooker.StatusCompleted
	b.publishEngine(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, TenantID: "t1", Job: &done, JobID: "j1", Status: done.Status})
	if _, ok := b.jobs["j1"]; ok {
		t.Error("a finished job is still tracked")
	}

	// Workers and syncs of another tenant with no listener are dropped;
	// the ring keeps the last eventRingSize events.
	b.publishEngine(runbooker.LiveEvent{Kind: runbooker.LiveWorkerOnline, TenantID: "t2", Worker: &runbooker.Worker{ID: "w"}})
	if b.tens["t2"] != nil {
		t.Error("a ring was made for a tenant without listeners")
	}
	for range eventRingSize + 10 {
		b.publishEngine(runbooker.LiveEvent{Kind: runbooker.LiveWorkerOnline, TenantID: "t1", Worker: &runbooker.Worker{ID: "w"}})
	}
	items, _, lost, last = b.since("t1", 2)
	if !lost || last != 3+eventRingSize+10 || len(items) != eventRingSize {
		t.Errorf("resume from a lost event: %d items, last %d, lost %v", len(items), last, lost)
	}
	items, _, lost, _ = b.since("t1", last-5)
	if lost || len(items) != 5 || items[4].seq != last {
		t.Errorf("resume of the last 5: %d items, lost %v", len(items), lost)
	}

	// Ids carry the server's run.
	if seq, ok := b.resumeSeq(b.eventID(42)); !ok || seq != 42 {
		t.Errorf("own id: %d %v", seq, ok)
	}
	for _, id := range []string{"other-42", "42", b.boot + "-x", ""} {
		if _, ok := b.resumeSeq(id); ok {
			t.Errorf("%q taken as an id of this run", id)
		}
	}
}

func TestEventBrokerWorkersSeen(t *testing.T) {
	b := newEventBroker()
	now := time.Now()
	w1 := &runbooker.Worker{ID: "w1", TenantID: "t", Name: "one", LastSeenAt: now}
	w2 := &runbooker.Worker{ID: "w2", TenantID: "t", Name: "two", LastSeenAt: now.Add(-time.Hour)}
	if !b.listen("t") || b.listen("t") {
		t.Fatal("one watch per tenant")
	}
	kinds := func(from int64) (out []string) {
		items, _, _, _ := b.since("t", from)
		for _, it := range items {
			out = append(out, string(it.kind)+" "+it.data.(WorkerEvent).ID)
		}
		return out
	}
	b.workersSeen("t", []*runbooker.Worker{w1, w2}, now)                                              // the first read only learns
	b.publishEngine(runbooker.LiveEvent{Kind: runbooker.LiveWorkerOnline, TenantID: "t", Worker: w1}) // known online: not again
	if got := kinds(0); len(got) != 0 {
		t.Fatalf("events after the first read: %v", got)
	}
	w3 := &runbooker.Worker{ID: "w3", TenantID: "t", Name: "three", LastSeenAt: now}
	later := now.Add(runbooker.WorkerOnlineWindow + time.Second)
	w3.LastSeenAt = later
	b.workersSeen("t", []*runbooker.Worker{w1, w2, w3}, later)
	if got := strings.Join(kinds(0), ", "); got != "worker.offline w1, worker.online w3" {
		t.Errorf("after w1's silence and w3's arrival: %s", got)
	}
	b.unlisten("t")
	b.unlisten("t")
	if b.keepWatching("t") || !b.listen("t") {
		t.Error("a tenant without listeners kept its watch")
	}
}
