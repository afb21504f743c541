package agent

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// flakyTransport records deliveries and fails while down is set.
type flakyTransport struct {
	Transport
	mu      sync.Mutex
	down    bool
	fail    error
	records []runbooker.StreamRecord
	finish  *runbooker.FinishParams
}

func (f *flakyTransport) Append(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return f.fail
	}
	for _, r := range recs {
		if n := len(f.records); n == 0 || f.records[n-1].Seq < r.Seq { // the server drops duplicates
			f.records = append(f.records, r)
		}
	}
	return nil
}

func (f *flakyTransport) Finish(ctx context.Context, p runbooker.FinishParams) error {
	if err := f.Append(ctx, p.Ref, p.Records); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finish = &p
	return nil
}

func (f *flakyTransport) set(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSpoolDeliversInOrderAfterAnOutageAndAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ft := &flakyTransport{down: true, fail: runbooker.Errorf(runbooker.EUNAVAILABLE, "server down")}
	sp, err := OpenSpool(dir, ft, log)
	if err != nil {
		t.Fatal(err)
	}
	ref := runbooker.JobRef{ID: "job-1", Attempt: 1}
	for i := int64(1); i <= 300; i++ {
		if err := sp.Append(context.Background(), ref, []runbooker.StreamRecord{{Seq: i, Type: "Output", Text: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close() // the worker stops while the server is still down
	ft.set(false)
	sp, err = OpenSpool(dir, ft, log) // a new run picks the journal up
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if err := sp.Finish(context.Background(), runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted,
		Records: []runbooker.StreamRecord{{Seq: 301, Type: "Output", Text: "last"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the finish to be delivered", func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		return ft.finish != nil
	})
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if len(ft.records) != 301 {
		t.Fatalf("delivered %d records, want 301", len(ft.records))
	}
	for i, r := range ft.records {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
	waitFor(t, "the journal to be removed", func() bool { return sp.Pending() == 0 })
}

func TestSpoolDropsReportsTheServerRefusesForGood(t *testing.T) {
	t.Parallel()
	for _, code := range []string{runbooker.ECONFLICT, runbooker.EUNAUTHORIZED} {
		ft := &flakyTransport{down: true, fail: runbooker.Errorf(code, "refused")}
		sp, err := OpenSpool(t.TempDir(), ft, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		_ = sp.Append(context.Background(), runbooker.JobRef{ID: "j", Attempt: 1}, []runbooker.StreamRecord{{Seq: 1}})
		waitFor(t, code+" reports to be dropped", func() bool { return sp.Pending() == 0 })
		sp.Close()
	}
}
