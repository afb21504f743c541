package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	refs    []runbooker.JobRef // of every finish delivered
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
	f.refs = append(f.refs, p.Ref)
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
	for i, code := range []string{runbooker.ECONFLICT, runbooker.EUNAUTHORIZED} {
		ft := &flakyTransport{down: true, fail: runbooker.Errorf(code, "refused")}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if i == 1 {
			log = nil // the spool logs to slog's default then
		}
		sp, err := OpenSpool(t.TempDir(), ft, log)
		if err != nil {
			t.Fatal(err)
		}
		_ = sp.Append(context.Background(), runbooker.JobRef{ID: "j", Attempt: 1}, []runbooker.StreamRecord{{Seq: 1}})
		waitFor(t, code+" reports to be dropped", func() bool { return sp.Pending() == 0 })
		sp.Close()
	}
}

// claimingTransport is a flakyTransport that finishes and claims in one
// call, handing out the jobs of queue one by one.
type claimingTransport struct {
	*flakyTransport
	queue  []runbooker.Assignment
	chains int // FinishAndClaim calls that reached the "server"
}

func (c *claimingTransport) FinishAndClaim(ctx context.Context, p runbooker.FinishParams, limit int) ([]runbooker.Assignment, error) {
	if err := c.Finish(ctx, p); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.chains++
	n := min(limit, len(c.queue))
	got := c.queue[:n]
	c.queue = c.queue[n:]
	return got, nil
}

func (c *claimingTransport) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.chains
}

// Over a transport that finishes and claims in one call, the spool sends a
// finish at once, with the records still undelivered, and hands back the
// job claimed with it; when that call fails, it claims nothing and delivers
// the journal once the server is back, as any other.
func TestSpoolFinishesAndClaimsInOneCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ct := &claimingTransport{flakyTransport: &flakyTransport{down: true, fail: runbooker.Errorf(runbooker.EUNAVAILABLE, "server down")},
		queue: []runbooker.Assignment{{Job: &runbooker.Job{ID: "next-1"}}, {Job: &runbooker.Job{ID: "next-2"}}}}
	dir := t.TempDir()
	sp, err := OpenSpool(dir, ct, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()

	// Records journaled while the server was down go with the finish.
	ref := runbooker.JobRef{ID: "job-1", Attempt: 1}
	for i := int64(1); i <= 3; i++ {
		if err := sp.Append(ctx, ref, []runbooker.StreamRecord{{Seq: i, Type: "Output", Text: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	ct.set(false)
	got, err := sp.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted,
		Records: []runbooker.StreamRecord{{Seq: 4, Type: "Output", Text: "last"}}}, 1)
	if err != nil || len(got) != 1 || got[0].Job.ID != "next-1" {
		t.Fatalf("FinishAndClaim: %d jobs %v, %v; want next-1", len(got), got, err)
	}
	ct.mu.Lock()
	finished, nrec := ct.finish != nil && ct.finish.Ref == ref, len(ct.records)
	ct.mu.Unlock()
	if !finished || nrec != 4 || ct.calls() != 1 {
		t.Fatalf("delivered: finish %v, %d records, %d finish-and-claim calls; want the finish with all 4 records in 1", finished, nrec, ct.calls())
	}
	if sp.Pending() != 0 {
		t.Errorf("%d journals left after the finish was delivered", sp.Pending())
	}

	// The server is down: nothing is claimed, the finish waits in the
	// journal and is delivered (by Finish) once the server is back.
	ct.set(true)
	ref2 := runbooker.JobRef{ID: "job-2", Attempt: 1}
	got, err = sp.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref2, Status: runbooker.StatusFailed, Exception: "boom"}, 1)
	if len(got) != 0 || err != nil {
		t.Fatalf("FinishAndClaim with the server down: %d jobs, %v; want none, and no error (the finish is journaled)", len(got), err)
	}
	if sp.Pending() != 1 {
		t.Fatalf("%d journals pending, want the failed finish's", sp.Pending())
	}
	ct.set(false)
	waitFor(t, "the journaled finish to be delivered", func() bool {
		ct.mu.Lock()
		defer ct.mu.Unlock()
		return ct.finish != nil && ct.finish.Ref == ref2 && ct.finish.Exception == "boom"
	})
	waitFor(t, "the journal to be removed", func() bool { return sp.Pending() == 0 })
	if ct.calls() != 1 {
		t.Errorf("%d finish-and-claim calls reached the server; the retry of a failed one must not claim", ct.calls())
	}
	ct.mu.Lock()
	left := len(ct.queue)
	ct.mu.Unlock()
	if left != 1 {
		t.Errorf("%d jobs left queued, want 1: a claim's jobs were taken without being handed out", left)
	}

	// A finish with nothing journaled before it goes as it is, with its
	// own records.
	ref3 := runbooker.JobRef{ID: "job-3", Attempt: 2}
	got, err = sp.FinishAndClaim(ctx, runbooker.FinishParams{Ref: ref3, Status: runbooker.StatusCompleted,
		Records: []runbooker.StreamRecord{{Seq: 1, Type: "Output", Text: "only"}}}, 1)
	if err != nil || len(got) != 1 || got[0].Job.ID != "next-2" {
		t.Fatalf("FinishAndClaim of a job with nothing journaled before: %d jobs %v, %v; want next-2", len(got), got, err)
	}
	ct.mu.Lock()
	f := ct.finish
	ct.mu.Unlock()
	if f == nil || f.Ref != ref3 || len(f.Records) != 1 || f.Records[0].Text != "only" || sp.Pending() != 0 || ct.calls() != 2 {
		t.Errorf("delivered %+v (%d journals left, %d finish-and-claim calls); want job-3's finish with its record, nothing left, 2 calls", f, sp.Pending(), ct.calls())
	}
	if journals, _ := filepath.Glob(filepath.Join(dir, "*_*")); len(journals) != 0 {
		t.Errorf("the spool directory holds %v after every finish was delivered", journals)
	}
}

// A finish logged for a delivery that a crash interrupted (no "delivered"
// line) is delivered after the restart, through its attempt's journal; one
// whose delivery ended is not delivered again; a line cut short is
// skipped; and a log whose finishes all ended starts over once it is big.
func TestSpoolFinishLogAfterACrash(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	ct := &claimingTransport{flakyTransport: &flakyTransport{}}
	sp, err := OpenSpool(dir, ct, log)
	if err != nil {
		t.Fatal(err)
	}
	delivered := runbooker.JobRef{ID: "job-delivered", Attempt: 1}
	if _, err := sp.FinishAndClaim(context.Background(), runbooker.FinishParams{Ref: delivered, Status: runbooker.StatusCompleted}, 1); err != nil {
		t.Fatal(err)
	}
	// The crash: logged, never delivered, and a line half written.
	cut := runbooker.JobRef{ID: "job-cut", Attempt: 3}
	if err := sp.finishes.begin(runbooker.FinishParams{Ref: cut, Status: runbooker.StatusFailed, Exception: "lost?"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.finishes.f.WriteString(`{"f":{"ref":{"id":"job-half`); err != nil {
		t.Fatal(err)
	}
	sp.Close()

	ft := &flakyTransport{}
	sp, err = OpenSpool(dir, &claimingTransport{flakyTransport: ft}, log)
	if err != nil {
		t.Fatalf("reopening after the crash: %v", err)
	}
	defer sp.Close()
	waitFor(t, "the interrupted finish to be delivered", func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		return ft.finish != nil
	})
	waitFor(t, "nothing pending", func() bool { return sp.Pending() == 0 })
	ft.mu.Lock()
	got, refs := *ft.finish, ft.refs
	ft.mu.Unlock()
	if len(refs) != 1 || got.Ref != cut || got.Exception != "lost?" {
		t.Errorf("delivered after the restart: %v, last %+v; want job-cut's finish alone", refs, got)
	}
	waitFor(t, "nothing pending", func() bool { return sp.Pending() == 0 })

	// Thousands of finishes later the log is still small.
	for i := range 3000 {
		p := runbooker.FinishParams{Ref: runbooker.JobRef{ID: fmt.Sprintf("job-%d", i), Attempt: 1},
			Status: runbooker.StatusFailed, Exception: strings.Repeat("x", 1000)}
		if _, err := sp.FinishAndClaim(context.Background(), p, 1); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "finishes.log")); err != nil || st.Size() > 2*finishLogCompact {
		t.Errorf("finish log after 3,000 finishes of 1 kB: %v %v, want at most %d bytes", st.Size(), err, 2*finishLogCompact)
	}
}

// A spool over a transport that cannot claim with a finish journals the
// finish and claims nothing: the agent's claim loop claims.
func TestSpoolFinishAndClaimWithoutAClaimingTransport(t *testing.T) {
	t.Parallel()
	ft := &flakyTransport{}
	sp, err := OpenSpool(t.TempDir(), ft, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	ref := runbooker.JobRef{ID: "job-1", Attempt: 1}
	got, err := sp.FinishAndClaim(context.Background(), runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted}, 1)
	if err != nil || len(got) != 0 {
		t.Fatalf("FinishAndClaim: %v, %v; want nothing claimed", got, err)
	}
	waitFor(t, "the finish to be delivered", func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		return ft.finish != nil && ft.finish.Ref == ref
	})
}
