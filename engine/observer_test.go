package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
)

// recorder is an engine.Observer that keeps what it was told.
type recorder struct {
	mu        sync.Mutex
	events    []runbooker.LiveEvent
	records   int
	bytes     int64
	storeErrs []string
}

func (r *recorder) Event(ev runbooker.LiveEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) StreamsStored(records int, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records += records
	r.bytes += bytes
}

func (r *recorder) StoreError(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.storeErrs = append(r.storeErrs, op)
}

// failingStore fails AppendStreams as a broken database would.
type failingStore struct{ runbooker.Store }

func (failingStore) AppendStreams(context.Context, runbooker.JobRef, []runbooker.StreamRecord) error {
	return errors.New("disk I/O error")
}

// The observer hears the live events, the records the store took, and
// store failures that are not the caller's; a stop of a job that had
// already ended is no event.
func TestObserverHearsEventsRecordsAndStoreFailures(t *testing.T) {
	t.Parallel()
	e, clk := newEngine(t)
	obs := &recorder{}
	e.SetObserver(obs)
	ctx := context.Background()

	stopped := create(t, e)
	if _, err := e.Stop(ctx, runbooker.DefaultTenant, stopped.ID); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if _, err := e.Stop(ctx, runbooker.DefaultTenant, stopped.ID); err != nil {
		t.Fatal(err)
	}
	j := create(t, e)
	qs, err := e.QueueStats(ctx)
	if err != nil || len(qs) != 1 || qs[0].Group != runbooker.CloudGroup || qs[0].Queued != 1 {
		t.Fatalf("QueueStats = %+v, %v", qs, err)
	}
	as, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1})
	if err != nil || len(as) != 1 {
		t.Fatalf("claim: %v %d", err, len(as))
	}
	ref := runbooker.JobRef{ID: j.ID, Attempt: as[0].Job.Attempt}
	if err := e.StartJob(ctx, ref, time.Time{}); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	if err := e.AppendStreams(ctx, ref, []runbooker.StreamRecord{{Seq: 1, Time: now, Type: runbooker.StreamOutput, Text: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Finish(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted,
		Records: []runbooker.StreamRecord{{Seq: 2, Time: now, Type: runbooker.StreamOutput, Text: "bye"}}}); err != nil {
		t.Fatal(err)
	}
	// A fenced attempt is the caller's mistake, not a store failure.
	stale := runbooker.JobRef{ID: j.ID, Attempt: ref.Attempt + 5}
	if err := e.AppendStreams(ctx, stale, []runbooker.StreamRecord{{Seq: 3, Time: now, Type: runbooker.StreamOutput, Text: "x"}}); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Fatalf("stale append: %v", err)
	}

	broken := engine.New(failingStore{e.Store()}, engine.Config{Now: clk.Now}, nil)
	broken.SetObserver(obs)
	if err := broken.AppendStreams(ctx, ref, []runbooker.StreamRecord{{Seq: 4, Time: now, Type: runbooker.StreamOutput, Text: "x"}}); err == nil {
		t.Fatal("append through a failing store succeeded")
	}

	obs.mu.Lock()
	defer obs.mu.Unlock()
	var kinds []string
	for _, ev := range obs.events {
		kinds = append(kinds, string(ev.Kind)+":"+string(ev.Status))
	}
	want := []string{"job.created:New", "job.status:Stopped", "job.created:New", "job.status:Activating",
		"job.status:Running", "job.status:Completed"}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v, want %v", kinds, want)
		}
	}
	if obs.records != 2 || obs.bytes != int64(len("hello")+len("bye")) {
		t.Errorf("streams stored: %d records, %d bytes; want 2 and 8", obs.records, obs.bytes)
	}
	if len(obs.storeErrs) != 1 || obs.storeErrs[0] != "append" {
		t.Errorf("store errors %v, want [append]", obs.storeErrs)
	}
}
