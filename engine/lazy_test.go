package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
)

// lazyStore counts what the engine asks of a runbooker.LazyStore; its
// lazy creations are ordinary ones (SQLite has no flush to save).
type lazyStore struct {
	runbooker.Store
	lazy, plain, flushes atomic.Int32
}

func (s *lazyStore) CreateJob(ctx context.Context, j *runbooker.Job) error {
	s.plain.Add(1)
	return s.Store.CreateJob(ctx, j)
}

func (s *lazyStore) CreateJobLazily(ctx context.Context, j *runbooker.Job) error {
	s.lazy.Add(1)
	return s.Store.CreateJob(ctx, j)
}

func (s *lazyStore) Flush(context.Context) error {
	s.flushes.Add(1)
	return nil
}

func newLazyEngine(t *testing.T) (*engine.Engine, *lazyStore) {
	t.Helper()
	ls := &lazyStore{Store: openStore(t)}
	return engine.New(ls, engine.Config{LeaseTTL: 10 * time.Second}, nil), ls
}

// Only a watched, unannounced creation (a synchronous run) is lazy, and
// Wait makes the job durable before it answers with a job that has not
// ended; a job that ended was made durable by its finish.
func TestUnannouncedRunIsCreatedLazilyAndFlushedBeforeItIsAnnounced(t *testing.T) {
	t.Parallel()
	e, ls := newLazyEngine(t)
	ctx := context.Background()
	p := engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_x", Caller: "t", Unannounced: true}

	if _, err := e.CreateJob(ctx, p); err != nil {
		t.Fatal(err)
	}
	if ls.lazy.Load() != 0 || ls.plain.Load() != 1 {
		t.Fatalf("CreateJob, whose caller is told of the job at once, created lazily (%d lazy, %d plain)", ls.lazy.Load(), ls.plain.Load())
	}
	announced := p
	announced.Unannounced = false
	_, w, err := e.CreateJobWatched(ctx, announced)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if ls.lazy.Load() != 0 {
		t.Fatal("a watched job that is not Unannounced was created lazily")
	}

	// A run still going when its wait ends: flushed before the answer.
	j, w, err := e.CreateJobWatched(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if ls.lazy.Load() != 1 {
		t.Fatalf("an unannounced watched job was not created lazily (%d lazy)", ls.lazy.Load())
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	out, err := w.Wait(short, runbooker.DefaultTenant)
	cancel()
	if err != nil || out.Job.Status.Terminal() {
		t.Fatalf("Wait on a queued job: %v %v", out.Job, err)
	}
	if ls.flushes.Load() != 1 {
		t.Errorf("Wait answered with a lazily created job still queued after %d flushes, want 1", ls.flushes.Load())
	}

	// A run that ends: its finish made it durable; no flush.
	j2, w2, err := e.CreateJobWatched(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{j.ID, j2.ID} {
		if _, err := e.Stop(ctx, runbooker.DefaultTenant, id); err != nil {
			t.Fatal(err)
		}
	}
	out, err = w2.Wait(ctx, runbooker.DefaultTenant)
	if err != nil || out.Job.Status != runbooker.StatusStopped {
		t.Fatalf("Wait on a stopped job: %v %v", out.Job, err)
	}
	if ls.flushes.Load() != 1 {
		t.Errorf("Wait flushed for a job that had ended (%d flushes, want 1)", ls.flushes.Load())
	}
}
