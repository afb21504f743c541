package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/keyring"
	"github.com/runbooker/runbooker/sqlite"
)

// clock is an injectable, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newEngine(t *testing.T) (*engine.Engine, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	return engine.New(openStore(t), engine.Config{LeaseTTL: 10 * time.Second, Now: c.Now}, nil), c
}

// openStore opens a store of the default tenant holding org_general_x.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.Put(ctx, st, catalog.PutInput{TenantID: runbooker.DefaultTenant, Name: "org_general_x",
		Language: runbooker.LangBash, Content: []byte("# @param N int\necho $RB_PARAM_N\n")}); err != nil {
		t.Fatal(err)
	}
	return st
}

func create(t *testing.T, e *engine.Engine) *runbooker.Job {
	t.Helper()
	j, err := e.CreateJob(context.Background(), engine.CreateJobParams{TenantID: runbooker.DefaultTenant,
		RunbookName: "org_general_x", Params: map[string]any{"n": "7"}, Caller: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestCreateBindsAndClaimLongPollWakesOnCreate(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	ctx := context.Background()
	if _, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_x",
		Params: map[string]any{"M": 1}}); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("unknown parameter: %v", err)
	}
	got := make(chan []runbooker.Assignment)
	go func() {
		jobs, _ := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 2, Wait: time.Minute})
		got <- jobs
	}()
	// Let the claimer park on its long poll first, so the wake-up is what frees it.
	time.Sleep(50 * time.Millisecond)
	j := create(t, e)
	select {
	case jobs := <-got:
		if len(jobs) != 1 || jobs[0].ID != j.ID || jobs[0].Parameters["N"] != int64(7) {
			t.Fatalf("claimed %+v", jobs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll was not woken by the new job")
	}
}

func TestOneWakeUpPerJobNotAThunderingHerd(t *testing.T) {
	t.Parallel()
	h := engine.NewHub()
	var woken atomic.Int32
	var wg sync.WaitGroup
	cancels := make([]func() bool, 100)
	for i := range cancels {
		w, cancel := h.Register("g", "", "w")
		cancels[i] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-w.C:
				woken.Add(1)
			case <-time.After(300 * time.Millisecond):
			}
		}()
	}
	h.JobQueued("g", "", 3)
	wg.Wait()
	if n := woken.Load(); n != 3 {
		t.Errorf("%d waiters woken for 3 jobs", n)
	}
	listed := 0
	for _, c := range cancels {
		if c() {
			listed++
		}
	}
	if listed != 97 {
		t.Errorf("%d waiters still listed after 3 wake-ups, want 97", listed)
	}
	h.JobQueued("g", "", 1) // nobody waits: must not block or panic
}

func TestDirectDispatchHandsTheJobToAParkedClaimer(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	ctx := context.Background()
	got := make(chan []runbooker.Assignment)
	go func() {
		jobs, _ := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w1", Limit: 4, Wait: time.Minute})
		got <- jobs
	}()
	// Wait until the claimer is parked and armed: only then is it handed jobs directly.
	deadline := time.Now().Add(5 * time.Second)
	for e.Hub().TakeWaiterProbe(runbooker.CloudGroup, runbooker.DefaultTenant) == false {
		if time.Now().After(deadline) {
			t.Fatal("the claimer never parked")
		}
		time.Sleep(time.Millisecond)
	}
	j := create(t, e)
	var jobs []runbooker.Assignment
	select {
	case jobs = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no job handed over")
	}
	if len(jobs) != 1 || jobs[0].ID != j.ID || jobs[0].Status != runbooker.StatusActivating || jobs[0].WorkerID != "w1" || jobs[0].Attempt != 1 {
		t.Fatalf("handed %+v", jobs)
	}
	stored, _ := e.Job(ctx, runbooker.DefaultTenant, j.ID)
	if stored.Status != runbooker.StatusActivating || stored.WorkerID != "w1" || stored.LeaseExpiresAt.IsZero() {
		t.Errorf("stored %+v", stored)
	}
	if j.Status != runbooker.StatusNew {
		t.Errorf("the creator sees %s, want New", j.Status)
	}
	// With nobody parked the job is queued for the next claim.
	j2 := create(t, e)
	if s, _ := e.Job(ctx, runbooker.DefaultTenant, j2.ID); s.Status != runbooker.StatusNew {
		t.Errorf("no claimer parked: job is %s", s.Status)
	}
}

func TestWaitReturnsOnFinishWithoutPolling(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	ctx := context.Background()
	j := create(t, e)
	done := make(chan *runbooker.Job)
	go func() {
		got, _ := e.Wait(ctx, runbooker.DefaultTenant, j.ID)
		done <- got
	}()
	jobs, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1})
	if err != nil || len(jobs) != 1 {
		t.Fatal(err)
	}
	if _, err := e.Finish(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: 1}, Status: runbooker.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if got.Status != runbooker.StatusCompleted {
			t.Errorf("wait returned %s", got.Status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait was not woken by Finish")
	}
	// A wait whose context ends returns the job as it is.
	j2 := create(t, e)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	got, err := e.Wait(cctx, runbooker.DefaultTenant, j2.ID)
	if err != nil || got.Status != runbooker.StatusNew {
		t.Errorf("wait with deadline: %v %v", err, got.Status)
	}
}

func TestRescuerRequeuesRetriesAndSuspends(t *testing.T) {
	t.Parallel()
	e, clk := newEngine(t)
	m := engine.NewMaintenance(e)
	ctx := context.Background()
	j := create(t, e)
	for attempt := 1; attempt <= 3; attempt++ {
		jobs, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1})
		if err != nil || len(jobs) != 1 || jobs[0].Attempt != attempt {
			t.Fatalf("claim %d: %v %+v", attempt, err, jobs)
		}
		if err := e.StartJob(ctx, runbooker.JobRef{ID: j.ID, Attempt: attempt}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		clk.Add(11 * time.Second) // the lease expires
		moved, err := m.Rescue(ctx)
		if err != nil || len(moved) != 1 {
			t.Fatalf("rescue %d: %v %+v", attempt, err, moved)
		}
		want := runbooker.StatusNew
		if attempt == 3 {
			want = runbooker.StatusSuspended
		}
		if moved[0].To != want {
			t.Errorf("attempt %d rescued to %s, want %s", attempt, moved[0].To, want)
		}
	}
	recs, _ := e.Store().Streams(ctx, runbooker.DefaultTenant, j.ID, runbooker.StreamFilter{Types: []runbooker.StreamType{runbooker.StreamWarning}})
	if len(recs) != 3 {
		t.Errorf("%d Warning records, want one per lost attempt", len(recs))
	}
	got, err := e.Resume(ctx, runbooker.DefaultTenant, j.ID)
	if err != nil || got.Status != runbooker.StatusNew {
		t.Fatalf("resume: %v %+v", err, got)
	}
	// A late worker of attempt 3 is fenced off.
	err = e.AppendStreams(ctx, runbooker.JobRef{ID: j.ID, Attempt: 3}, []runbooker.StreamRecord{{Seq: 99, Type: "Output", Text: "late", Time: clk.Now()}})
	if runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("late append: %v", err)
	}
}

func TestStopQueuedJobEndsAtOnceAndRunningOneReachesItsKiller(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	ctx := context.Background()
	j := create(t, e)
	got, err := e.Stop(ctx, runbooker.DefaultTenant, j.ID)
	if err != nil || got.Status != runbooker.StatusStopped {
		t.Fatalf("stop queued: %v %+v", err, got)
	}
	j2 := create(t, e)
	if _, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1}); err != nil {
		t.Fatal(err)
	}
	killed := make(chan struct{})
	unregister := e.Hub().OnStop(j2.ID, func() { close(killed) })
	defer unregister()
	got, err = e.Stop(ctx, runbooker.DefaultTenant, j2.ID)
	if err != nil || got.Status != runbooker.StatusStopping {
		t.Fatalf("stop running: %v %+v", err, got)
	}
	select {
	case <-killed:
	case <-time.After(5 * time.Second):
		t.Fatal("the in-process kill function was not called")
	}
}

func TestAssetsAreSealedAndOnlyForLeaseHolders(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	ctx := context.Background()
	if _, err := e.PutAsset(ctx, engine.AssetInput{TenantID: "default", Type: runbooker.AssetCredential, Name: "c",
		Value: []byte(`{"userName":"u","password":"p"}`)}); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Fatalf("sealing without a keyring: %v", err)
	}
	k, _ := keyring.New(keyring.Generate())
	e.SetKeyring(k)
	a, err := e.PutAsset(ctx, engine.AssetInput{TenantID: "default", Type: runbooker.AssetCredential, Name: "c",
		Value: []byte(`{"userName":"u","password":"hunter2-secret"}`)})
	if err != nil || !a.Encrypted || strings.Contains(string(a.Value), "hunter2") {
		t.Fatalf("sealed asset: %v %s", err, a.Value)
	}
	j := create(t, e)
	ref := runbooker.JobRef{ID: j.ID, Attempt: 1}
	if _, _, err := e.JobAsset(ctx, nil, "default", ref, runbooker.AssetCredential, "c"); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("asset read by a queued job: %v", err)
	}
	if _, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1}); err != nil {
		t.Fatal(err)
	}
	v, secret, err := e.JobAsset(ctx, nil, "default", ref, runbooker.AssetCredential, "c")
	if err != nil || !secret || !strings.Contains(string(v), "hunter2-secret") {
		t.Errorf("asset read by the lease holder: %v %s", err, v)
	}
	if _, _, err := e.JobAsset(ctx, nil, "other", ref, runbooker.AssetCredential, "c"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("asset read through another tenant: %v", err)
	}
	for _, bad := range []engine.AssetInput{
		{TenantID: "default", Type: "secret", Name: "x", Value: []byte(`1`)},
		{TenantID: "default", Type: runbooker.AssetVariable, Name: "../x", Value: []byte(`1`)},
		{TenantID: "default", Type: runbooker.AssetConnection, Name: "x", Value: []byte(`{"type":"t"}`)},
		{TenantID: "default", Type: runbooker.AssetVariable, Name: "x", Value: []byte(`{`)},
	} {
		if _, err := e.PutAsset(ctx, bad); runbooker.ErrorCode(err) != runbooker.EINVALID {
			t.Errorf("bad asset %+v accepted: %v", bad, err)
		}
	}
}

func TestRetentionPurgeDeletesOnlyOldFinishedJobs(t *testing.T) {
	t.Parallel()
	e, clk := newEngine(t)
	m := engine.NewMaintenance(e)
	ctx := context.Background()
	old := create(t, e)
	if _, err := e.Stop(ctx, runbooker.DefaultTenant, old.ID); err != nil {
		t.Fatal(err)
	}
	clk.Add(29 * 24 * time.Hour)
	young := create(t, e)
	if _, err := e.Stop(ctx, runbooker.DefaultTenant, young.ID); err != nil {
		t.Fatal(err)
	}
	queued := create(t, e)
	clk.Add(2 * 24 * time.Hour) // old ended 31 days ago, young 2 days ago
	n, err := m.Purge(ctx)
	if err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	if _, err := e.Job(ctx, runbooker.DefaultTenant, old.ID); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("the 31-day-old job is still there: %v", err)
	}
	for _, j := range []*runbooker.Job{young, queued} {
		if _, err := e.Job(ctx, runbooker.DefaultTenant, j.ID); err != nil {
			t.Errorf("job %s was purged: %v", j.ID, err)
		}
	}
}

// countingStore counts the store claims an engine makes.
type countingStore struct {
	runbooker.Store
	claims atomic.Int32
}

func (c *countingStore) ClaimJobs(ctx context.Context, p runbooker.ClaimParams) ([]*runbooker.Job, error) {
	c.claims.Add(1)
	return c.Store.ClaimJobs(ctx, p)
}

func TestIdleLongPollsSkipTheStoreUntilSomethingIsQueued(t *testing.T) {
	t.Parallel()
	base, _ := newEngine(t)
	cs := &countingStore{Store: base.Store()}
	e := engine.New(cs, engine.Config{LeaseTTL: 10 * time.Second}, nil)
	ctx := context.Background()
	req := engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 4, Wait: 20 * time.Millisecond}
	for i := 0; i < 3; i++ {
		if jobs, err := e.Claim(ctx, req); err != nil || len(jobs) != 0 {
			t.Fatalf("idle claim %d: %v %v", i, jobs, err)
		}
	}
	if n := cs.claims.Load(); n != 1 {
		t.Errorf("%d store claims for three idle long polls, want 1 (then the empty hint)", n)
	}
	// A job queued while nobody waits clears the hint: the next claim finds it.
	j := create(t, e)
	jobs, err := e.Claim(ctx, req)
	if err != nil || len(jobs) != 1 || jobs[0].ID != j.ID {
		t.Fatalf("claim after a queued job: %v %+v", err, jobs)
	}
	// A job of another tenant for a tenant-scoped claimer is not its business,
	// but a job of its own tenant is.
	own := engine.ClaimRequest{TenantID: runbooker.DefaultTenant, Group: runbooker.CloudGroup, WorkerID: "w2", Limit: 1, Wait: 20 * time.Millisecond}
	if jobs, _ := e.Claim(ctx, own); len(jobs) != 0 {
		t.Fatalf("nothing queued, got %d", len(jobs))
	}
	j2 := create(t, e)
	if jobs, _ := e.Claim(ctx, own); len(jobs) != 1 || jobs[0].ID != j2.ID {
		t.Fatalf("tenant-scoped claimer missed its tenant's job: %+v", jobs)
	}
}

func TestCreateJobsQueuesABatchAtomicallyAndWakesParkedClaimers(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	ctx := context.Background()
	p := func(n any) engine.CreateJobParams {
		return engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_x", Params: map[string]any{"N": n}, Caller: "t"}
	}
	// One bad request refuses the whole batch, naming it; nothing is queued.
	_, err := e.CreateJobs(ctx, []engine.CreateJobParams{p(1), p("not a number"), p(3)})
	if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), "job 1 of the batch") {
		t.Fatalf("batch with a bad parameter: %v", err)
	}
	if page, err := e.Store().ListJobs(ctx, runbooker.DefaultTenant, runbooker.JobFilter{}); err != nil || len(page.Jobs) != 0 {
		t.Fatalf("a refused batch left jobs: %d (%v)", len(page.Jobs), err)
	}
	if _, err := e.CreateJobs(ctx, make([]engine.CreateJobParams, engine.MaxBatch+1)); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("oversized batch: %v", err)
	}

	// Two claimers park; a batch of three wakes them and all three are claimed.
	got := make(chan []runbooker.Assignment, 2)
	for w := range 2 {
		go func() {
			jobs, _ := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: fmt.Sprint("w", w), Limit: 2, Wait: time.Minute})
			got <- jobs
		}()
	}
	time.Sleep(50 * time.Millisecond)
	js, err := e.CreateJobs(ctx, []engine.CreateJobParams{p(1), p("2"), p(3)})
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 3 || js[1].Parameters["N"] != int64(2) || js[0].Status != runbooker.StatusNew {
		t.Fatalf("created %+v", js)
	}
	seen := map[string]bool{}
	for range 2 {
		select {
		case jobs := <-got:
			for _, j := range jobs {
				seen[j.ID] = true
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a parked claimer was not woken by the batch")
		}
	}
	if len(seen) < 2 {
		t.Fatalf("claimers took %d distinct jobs, want at least 2", len(seen))
	}
	for _, j := range js {
		if !seen[j.ID] {
			if s, _ := e.Job(ctx, runbooker.DefaultTenant, j.ID); s == nil || s.Status != runbooker.StatusNew {
				t.Fatalf("job %s neither claimed nor queued: %+v", j.ID, s)
			}
		}
	}
}

// streamCountingStore counts the stream reads an engine makes.
type streamCountingStore struct {
	runbooker.Store
	reads atomic.Int32
}

func (c *streamCountingStore) Streams(ctx context.Context, tenantID, id string, f runbooker.StreamFilter) ([]runbooker.StreamRecord, error) {
	c.reads.Add(1)
	return c.Store.Streams(ctx, tenantID, id, f)
}

// A synchronous run gets the output its finish carried without a read back,
// and reads the store whenever the finish did not carry all of it.
func TestWaitOutputTakesTheFinishersRecordsWhenTheyAreTheWholeOutput(t *testing.T) {
	t.Parallel()
	base, _ := newEngine(t)
	cs := &streamCountingStore{Store: base.Store()}
	e := engine.New(cs, engine.Config{LeaseTTL: 10 * time.Second}, nil)
	ctx := context.Background()
	rec := func(seq int64, text string) runbooker.StreamRecord {
		return runbooker.StreamRecord{Seq: seq, Time: time.Now().UTC(), Type: runbooker.StreamOutput, Text: text}
	}
	cases := []struct {
		name      string
		appended  []runbooker.StreamRecord
		finished  []runbooker.StreamRecord
		wantReads int32
	}{
		{"whole output in the finish", nil, []runbooker.StreamRecord{rec(1, "a"), rec(2, "b")}, 0},
		{"earlier records appended", []runbooker.StreamRecord{rec(1, "a")}, []runbooker.StreamRecord{rec(2, "b")}, 1},
		{"text a store may change", nil, []runbooker.StreamRecord{rec(1, "a"), rec(2, "b\x00")}, 1},
		{"no records", nil, nil, 1},
	}
	for _, c := range cases {
		j := create(t, e)
		type result struct {
			j    *runbooker.Job
			recs []runbooker.StreamRecord
			err  error
		}
		done := make(chan result)
		go func() {
			got, recs, err := e.WaitOutput(ctx, runbooker.DefaultTenant, j.ID)
			done <- result{got, recs, err}
		}()
		time.Sleep(200 * time.Millisecond) // the waiter registers first
		jobs, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("%s: claim %v %d", c.name, err, len(jobs))
		}
		ref := runbooker.JobRef{ID: j.ID, Attempt: 1}
		if len(c.appended) > 0 {
			if err := e.AppendStreams(ctx, ref, c.appended); err != nil {
				t.Fatalf("%s: append %v", c.name, err)
			}
		}
		before := cs.reads.Load()
		if _, err := e.Finish(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted, Records: c.finished}); err != nil {
			t.Fatalf("%s: finish %v", c.name, err)
		}
		r := <-done
		if r.err != nil || r.j.Status != runbooker.StatusCompleted {
			t.Fatalf("%s: WaitOutput %v %+v", c.name, r.err, r.j)
		}
		want := append(append([]runbooker.StreamRecord{}, c.appended...), c.finished...)
		if len(r.recs) != len(want) {
			t.Fatalf("%s: %d records, want %d", c.name, len(r.recs), len(want))
		}
		for i := range want {
			if r.recs[i].Seq != want[i].Seq || r.recs[i].Text != want[i].Text {
				if c.wantReads == 1 && want[i].Text == "b\x00" && r.recs[i].Seq == want[i].Seq {
					continue // the store's own rendering of a NUL: that is why it was read back
				}
				t.Errorf("%s: record %d = %d %q, want %d %q", c.name, i, r.recs[i].Seq, r.recs[i].Text, want[i].Seq, want[i].Text)
			}
		}
		if n := cs.reads.Load() - before; n != c.wantReads {
			t.Errorf("%s: %d stream reads, want %d", c.name, n, c.wantReads)
		}
	}
}

// contentCountingStore counts the runbook source reads an engine makes.
type contentCountingStore struct {
	runbooker.Store
	reads atomic.Int32
}

func (c *contentCountingStore) RunbookContent(ctx context.Context, tenantID, version string) ([]byte, error) {
	c.reads.Add(1)
	return c.Store.RunbookContent(ctx, tenantID, version)
}

// Dispatches read a runbook version's source once; a version is a content
// address, so the cached copy is always right, and it stays per tenant.
func TestRunbookSourcesAreReadOncePerVersion(t *testing.T) {
	t.Parallel()
	base, _ := newEngine(t)
	cs := &contentCountingStore{Store: base.Store()}
	e := engine.New(cs, engine.Config{LeaseTTL: 10 * time.Second}, nil)
	ctx := context.Background()
	rb, err := e.Store().Runbook(ctx, runbooker.DefaultTenant, "org_general_x")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		src, err := e.Store().RunbookContent(ctx, runbooker.DefaultTenant, rb.Version)
		if err != nil || !strings.Contains(string(src), "RB_PARAM_N") {
			t.Fatalf("source %q, %v", src, err)
		}
	}
	if n := cs.reads.Load(); n != 1 {
		t.Errorf("%d store reads for three lookups of one version, want 1", n)
	}
	if _, err := e.Store().RunbookContent(ctx, "other-tenant", rb.Version); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("another tenant got the source: %v", err)
	}
	if n := cs.reads.Load(); n != 2 {
		t.Errorf("another tenant's lookup was answered from the cache (%d reads)", n)
	}
}

// parkedClaim starts a long-polling claim and returns once it is parked, so
// the next job created is handed to it directly.
func parkedClaim(t *testing.T, e *engine.Engine, worker string) <-chan []runbooker.Assignment {
	t.Helper()
	got := make(chan []runbooker.Assignment, 1)
	go func() {
		jobs, _ := e.Claim(context.Background(), engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: worker, Limit: 1, Wait: time.Minute})
		got <- jobs
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !e.Hub().TakeWaiterProbe(runbooker.CloudGroup, runbooker.DefaultTenant) {
		if time.Now().After(deadline) {
			t.Fatal("the claim did not park")
		}
		time.Sleep(time.Millisecond)
	}
	return got
}

// A claimed job reaches its worker the same way whether a parked claimer
// took it in the write that created it or a claim found it in the store:
// a complete Assignment, the source read once per version, the built-in
// group's per-tenant settings attached, and parameters with the types they
// were bound to.
func TestClaimedJobsAreTheSameOnBothPaths(t *testing.T) {
	t.Parallel()
	base, _ := newEngine(t)
	ctx := context.Background()
	if _, _, err := catalog.Put(ctx, base.Store(), catalog.PutInput{TenantID: runbooker.DefaultTenant, Name: "org_general_typed",
		Language: runbooker.LangBash, Content: []byte("# @param N int\n# @param Ratio float\n# @param Names string[]\n# @param On bool\necho\n")}); err != nil {
		t.Fatal(err)
	}
	cs := &contentCountingStore{Store: base.Store()}
	e := engine.New(cs, engine.Config{LeaseTTL: 10 * time.Second}, nil)
	if err := e.UpdateGroup(ctx, &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: runbooker.CloudGroup,
		RunAs: "nobody", MaxRuntime: time.Minute}); err != nil {
		t.Fatal(err)
	}
	newJob := func() *runbooker.Job {
		t.Helper()
		j, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_typed",
			Params: map[string]any{"N": "7", "Ratio": 2, "Names": []any{"a", "b"}, "On": "yes"}})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	want := map[string]any{"N": int64(7), "Ratio": float64(2), "Names": []string{"a", "b"}, "On": true}

	direct := parkedClaim(t, e, "w1")
	jd := newJob()
	// The direct claim's answer is read before the second job exists: the
	// second read of the source must come from the cache, not race the first.
	got := <-direct
	queued := newJob() // nobody parked: stored New, claimed from the store below
	stored, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w2", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string][]runbooker.Assignment{"direct dispatch": got, "claimed from the store": stored}
	wantID := map[string]string{"direct dispatch": jd.ID, "claimed from the store": queued.ID}
	for path, as := range paths {
		if len(as) != 1 || as[0].ID != wantID[path] {
			t.Fatalf("%s: claimed %+v", path, as)
		}
		a := as[0]
		if !reflect.DeepEqual(a.Parameters, want) {
			t.Errorf("%s: parameters %#v, want %#v", path, a.Parameters, want)
		}
		if !strings.Contains(string(a.Script), "@param Ratio float") {
			t.Errorf("%s: script %q", path, a.Script)
		}
		if a.Group == nil || a.Group.RunAs != "nobody" || a.Group.MaxRuntime != time.Minute {
			t.Errorf("%s: group settings %+v, want the cloud group's RunAs and runtime limit", path, a.Group)
		}
	}
	if n := cs.reads.Load(); n != 1 {
		t.Errorf("%d source reads for two jobs of one version, want 1", n)
	}
}

// A claimed job whose source cannot be read is failed at once, not handed
// out and not left to the rescuer.
func TestClaimFailsAJobWithoutSource(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	ctx := context.Background()
	j := create(t, e)
	e2 := engine.New(&noContentStore{Store: e.Store()}, engine.Config{LeaseTTL: 10 * time.Second}, nil)
	as, err := e2.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1})
	if err != nil || len(as) != 0 {
		t.Fatalf("claim: %v %+v, want nothing handed out", err, as)
	}
	got, err := e.Job(ctx, runbooker.DefaultTenant, j.ID)
	if err != nil || got.Status != runbooker.StatusFailed || !strings.Contains(got.Exception, "runbook source not found") {
		t.Errorf("job without source: %v %s %q", err, got.Status, got.Exception)
	}
}

// noContentStore has lost every runbook source.
type noContentStore struct{ runbooker.Store }

func (noContentStore) RunbookContent(context.Context, string, string) ([]byte, error) {
	return nil, runbooker.Errorf(runbooker.ENOTFOUND, "runbook version not found")
}
