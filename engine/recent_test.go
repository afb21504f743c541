package engine_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/sqlite"
)

// readCounter counts the store reads a waiter could make.
type readCounter struct {
	runbooker.Store
	jobs, streams, creds, settings, workers atomic.Int64
}

func (s *readCounter) Worker(ctx context.Context, id string) (*runbooker.Worker, error) {
	s.workers.Add(1)
	return s.Store.Worker(ctx, id)
}

func (s *readCounter) Settings(ctx context.Context, tenantID string, keys []string) (map[string][]byte, error) {
	s.settings.Add(1)
	return s.Store.Settings(ctx, tenantID, keys)
}

func (s *readCounter) Credential(ctx context.Context, id string) (*runbooker.Credential, error) {
	s.creds.Add(1)
	return s.Store.Credential(ctx, id)
}

func (s *readCounter) Job(ctx context.Context, tenantID, id string) (*runbooker.Job, error) {
	s.jobs.Add(1)
	return s.Store.Job(ctx, tenantID, id)
}

func (s *readCounter) Streams(ctx context.Context, tenantID, id string, f runbooker.StreamFilter) ([]runbooker.StreamRecord, error) {
	s.streams.Add(1)
	return s.Store.Streams(ctx, tenantID, id, f)
}

// A job that ended in this process lately is answered from memory: a
// waiter that comes after the finish reads neither the job nor its output
// back, and a waiter of another tenant still gets nothing.
func TestWaitAfterFinishReadsNothing(t *testing.T) {
	ctx := context.Background()
	e, rc, j := countedEngineWithAJob(t, "")
	jobs, err := e.Store().ClaimJobs(ctx, runbooker.ClaimParams{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1, Now: e.Now(), LeaseUntil: e.Now().Add(time.Minute)})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v, %d jobs", err, len(jobs))
	}
	recs := []runbooker.StreamRecord{{Seq: 1, Time: e.Now(), Type: runbooker.StreamOutput, Text: "hi"}}
	if _, err := e.Finish(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: jobs[0].Attempt},
		Status: runbooker.StatusCompleted, Records: recs}); err != nil {
		t.Fatal(err)
	}
	rc.jobs.Store(0)
	got, out, err := e.WaitOutput(ctx, runbooker.DefaultTenant, j.ID)
	if err != nil || got.Status != runbooker.StatusCompleted || len(out) != 1 || out[0].Text != "hi" {
		t.Fatalf("WaitOutput = %v, %v, %v", got, out, err)
	}
	if n, m := rc.jobs.Load(), rc.streams.Load(); n != 0 || m != 0 {
		t.Fatalf("a waiter after the finish read the store %d times for the job and %d for its output", n, m)
	}
	if _, err := e.Wait(ctx, "other", j.ID); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Fatalf("another tenant's Wait = %v, want ENOTFOUND", err)
	}
	if rc.jobs.Load() != 1 {
		t.Fatalf("another tenant's Wait was answered from memory, not by the store")
	}
}

// Every API request looks up its credential: the engine's store serves it
// from memory while fresh, and forgets it the moment it is deleted through
// this process.
func TestCredentialLookupsCachedUntilDeleted(t *testing.T) {
	ctx := context.Background()
	rc := &readCounter{Store: testStore(t, []string{runbooker.DefaultTenant}, nil)}
	s := engine.New(rc, engine.Config{}, nil).Store()
	c := &runbooker.Credential{ID: runbooker.NewID(), TenantID: runbooker.DefaultTenant, Name: "ci", Role: runbooker.RoleOperator,
		SecretHash: runbooker.HashSecret("s3cret"), CreatedAt: time.Now()}
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got, err := s.Credential(ctx, c.ID); err != nil || got.Name != "ci" {
			t.Fatalf("Credential = %v, %v", got, err)
		}
	}
	if n := rc.creds.Load(); n != 1 {
		t.Fatalf("three lookups read the store %d times, want 1", n)
	}
	if err := s.DeleteCredential(ctx, runbooker.DefaultTenant, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credential(ctx, c.ID); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Fatalf("a deleted credential still authenticates: %v", err)
	}
}

// The access documents every request reads come from memory while fresh; a
// document put through this process applies to the very next read.
func TestSettingsCachedUntilPut(t *testing.T) {
	ctx := context.Background()
	rc := &readCounter{Store: testStore(t, []string{runbooker.DefaultTenant, "other"}, nil)}
	s := engine.New(rc, engine.Config{}, nil).Store()
	keys := []string{"permissions", "roles"}
	read := func(tenant string) string {
		t.Helper()
		docs, err := s.Settings(ctx, tenant, keys)
		if err != nil {
			t.Fatal(err)
		}
		return string(docs["permissions"])
	}
	if err := s.PutSetting(ctx, runbooker.DefaultTenant, "permissions", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if read(runbooker.DefaultTenant) != `{"a":1}` || read(runbooker.DefaultTenant) != `{"a":1}` {
		t.Fatal("Settings did not return the document put")
	}
	if n := rc.settings.Load(); n != 1 {
		t.Fatalf("two reads went to the store %d times, want 1", n)
	}
	if read("other") != "" {
		t.Fatal("another tenant read tenant default's document")
	}
	if err := s.PutSetting(ctx, runbooker.DefaultTenant, "permissions", []byte(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	if got := read(runbooker.DefaultTenant); got != `{"a":2}` {
		t.Fatalf("after a put the next read saw %s", got)
	}
}

// testStore opens a fresh SQLite store holding the tenants and, in the
// default tenant, bash runbooks by name.
func testStore(t *testing.T, tenants []string, runbooks map[string]string) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tenant := range tenants {
		if err := st.EnsureTenant(ctx, tenant); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range runbooks {
		if _, _, err := catalog.Put(ctx, st, catalog.PutInput{TenantID: runbooker.DefaultTenant, Name: name,
			Language: runbooker.LangBash, Content: []byte(src)}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// A job created watched is waited for without a store read: the watch was
// taken before the job existed, so it cannot miss the end, even one that
// comes before Wait is called. A wake-up that carries no job (an end on
// another replica) is read from the store; a wait that runs out answers
// with the job as stored, and the watch leaves nothing subscribed.
func TestAWatchedJobIsWaitedForWithoutReadingTheStore(t *testing.T) {
	ctx := context.Background()
	st := testStore(t, []string{runbooker.DefaultTenant}, map[string]string{"org_general_x": "echo hi\n"})
	rc := &readCounter{Store: st}
	e := engine.New(rc, engine.Config{LeaseTTL: 10 * time.Second}, nil)
	params := engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_x", Caller: "t"}
	claim := func(id string) runbooker.JobRef {
		t.Helper()
		jobs, err := e.Store().ClaimJobs(ctx, runbooker.ClaimParams{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1, Now: e.Now(), LeaseUntil: e.Now().Add(time.Minute)})
		if err != nil || len(jobs) != 1 || jobs[0].ID != id {
			t.Fatalf("claim: %v, %v", err, jobs)
		}
		return runbooker.JobRef{ID: id, Attempt: jobs[0].Attempt}
	}
	claimFinish := func(id string, recs []runbooker.StreamRecord) {
		t.Helper()
		if _, err := e.Finish(ctx, runbooker.FinishParams{Ref: claim(id), Status: runbooker.StatusCompleted, Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	recs := []runbooker.StreamRecord{{Seq: 1, Time: e.Now(), Type: runbooker.StreamOutput, Text: "hi"}}

	// Ended before Wait: the watch holds the outcome.
	j, w, err := e.CreateJobWatched(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	claimFinish(j.ID, recs)
	rc.jobs.Store(0)
	out, err := w.Wait(ctx, runbooker.DefaultTenant)
	if err != nil || out.Job.Status != runbooker.StatusCompleted || !out.Complete || len(out.Records) != 1 || out.Records[0].Text != "hi" {
		t.Fatalf("Wait after the end = %+v, %v", out, err)
	}
	// Ended while Wait waits.
	j, w, err = e.CreateJobWatched(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		claimFinish(j.ID, recs)
	}()
	if out, err = w.Wait(ctx, runbooker.DefaultTenant); err != nil || out.Job.ID != j.ID || out.Job.Status != runbooker.StatusCompleted {
		t.Fatalf("Wait during the run = %+v, %v", out, err)
	}
	if n := rc.jobs.Load(); n != 0 {
		t.Fatalf("waiting for two watched jobs read the store %d times", n)
	}

	// An end announced without the job (another replica finished it): read.
	j, w, err = e.CreateJobWatched(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store().FinishJob(ctx, runbooker.FinishParams{Ref: claim(j.ID),
		Status: runbooker.StatusFailed, Exception: "elsewhere", Now: e.Now()}); err != nil {
		t.Fatal(err)
	}
	e.Hub().JobDone(j.ID, engine.Outcome{})
	if out, err = w.Wait(ctx, runbooker.DefaultTenant); err != nil || out.Job.Status != runbooker.StatusFailed || out.Job.Exception != "elsewhere" {
		t.Fatalf("Wait for a job ended elsewhere = %+v, %v", out, err)
	}
	if n := rc.jobs.Load(); n != 1 {
		t.Fatalf("an end without the job read the store %d times, want 1", n)
	}

	// A wait that runs out answers with the job as it stands.
	j, w, err = e.CreateJobWatched(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if out, err = w.Wait(short, runbooker.DefaultTenant); err != nil || out.Job.ID != j.ID || out.Job.Status != runbooker.StatusNew {
		t.Fatalf("Wait that runs out = %+v, %v", out, err)
	}
	// A watch closed without a wait, and every finished one, unsubscribed:
	// a later end of that job is remembered, not held for a waiter.
	_, w, err = e.CreateJobWatched(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	w.Close() // twice is harmless
	if n := e.Hub().Subscribed(); n != 0 {
		t.Fatalf("%d job ends still subscribed after every watch ended", n)
	}
}

// An attempt this server handed to a worker is known to be that worker's
// without a read of the store; any other worker, tenant or attempt is
// checked against the store, as before.
func TestHeldAttemptOfAHandedJobReadsNothing(t *testing.T) {
	ctx := context.Background()
	e, rc, j := countedEngineWithAJob(t, "onprem")
	as, err := e.Claim(ctx, engine.ClaimRequest{TenantID: runbooker.DefaultTenant, Group: "onprem", WorkerID: "w1", Limit: 1})
	if err != nil || len(as) != 1 {
		t.Fatalf("claim: %v, %d jobs", err, len(as))
	}
	ref := runbooker.JobRef{ID: j.ID, Attempt: as[0].Attempt}
	w1 := &runbooker.Worker{ID: "w1", TenantID: runbooker.DefaultTenant}
	before := rc.jobs.Load()
	created, err := e.HeldAttempt(ctx, w1, ref)
	if err != nil || !created.Equal(j.CreatedAt) {
		t.Fatalf("HeldAttempt of the worker's own attempt: %v, %v; want the job's creation %v", created, err, j.CreatedAt)
	}
	if n := rc.jobs.Load() - before; n != 0 {
		t.Errorf("HeldAttempt of an attempt handed out here read the job %d times, want 0", n)
	}
	// Another worker, another tenant's worker of that id, another attempt:
	// the store says no, as it always did.
	for _, c := range []struct {
		w    *runbooker.Worker
		ref  runbooker.JobRef
		code string
	}{
		{&runbooker.Worker{ID: "w2", TenantID: runbooker.DefaultTenant}, ref, runbooker.ECONFLICT},
		{&runbooker.Worker{ID: "w1", TenantID: "other"}, ref, runbooker.ENOTFOUND},
		{w1, runbooker.JobRef{ID: j.ID, Attempt: ref.Attempt + 1}, runbooker.ECONFLICT},
	} {
		before := rc.jobs.Load()
		if _, err := e.HeldAttempt(ctx, c.w, c.ref); runbooker.ErrorCode(err) != c.code {
			t.Errorf("HeldAttempt by %s of tenant %q, attempt %d: %v, want %s", c.w.ID, c.w.TenantID, c.ref.Attempt, err, c.code)
		}
		if rc.jobs.Load() == before {
			t.Errorf("HeldAttempt by %s of tenant %q, attempt %d answered without the store", c.w.ID, c.w.TenantID, c.ref.Attempt)
		}
	}
}

// The built-in group's jobs are not remembered as handed: its agent never
// asks about its attempts over HTTP, and its stream of short jobs would
// push out the hybrid workers' attempts. Asked anyway, the store answers.
func TestBuiltInGroupHandoutsAreNotRemembered(t *testing.T) {
	ctx := context.Background()
	e, rc, j := countedEngineWithAJob(t, "")
	as, err := e.Claim(ctx, engine.ClaimRequest{TenantID: runbooker.DefaultTenant, Group: runbooker.CloudGroup, WorkerID: "w1", Limit: 1})
	if err != nil || len(as) != 1 {
		t.Fatalf("claim: %v, %d jobs", err, len(as))
	}
	before := rc.jobs.Load()
	created, err := e.HeldAttempt(ctx, &runbooker.Worker{ID: "w1", TenantID: runbooker.DefaultTenant}, runbooker.JobRef{ID: j.ID, Attempt: as[0].Attempt})
	if err != nil || !created.Equal(j.CreatedAt) {
		t.Fatalf("HeldAttempt: %v, %v; want the job's creation %v", created, err, j.CreatedAt)
	}
	if rc.jobs.Load() == before {
		t.Error("HeldAttempt of a built-in group's attempt answered from memory: the handout was remembered")
	}
}

// A hybrid worker's calls authenticate from the engine's cache: a busy
// worker costs no store read per call. The secret is still checked every
// time, and a worker deleted through this engine's store is refused at
// once.
func TestWorkerAuthenticationIsCached(t *testing.T) {
	ctx := context.Background()
	e, rc, _ := countedEngineWithAJob(t, "")
	token, err := e.CreateGroup(ctx, &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: "onprem"})
	if err != nil {
		t.Fatal(err)
	}
	w, secret, err := e.Register(ctx, engine.RegisterParams{Token: token, Name: "w"})
	if err != nil {
		t.Fatal(err)
	}
	before := rc.workers.Load()
	for i := 0; i < 5; i++ {
		got, err := e.AuthWorker(ctx, w.ID, secret)
		if err != nil || got.ID != w.ID || got.TenantID != runbooker.DefaultTenant || got.Group != "onprem" {
			t.Fatalf("AuthWorker: %+v, %v", got, err)
		}
	}
	if n := rc.workers.Load() - before; n > 1 {
		t.Errorf("five authentications read the worker %d times, want at most 1", n)
	}
	if _, err := e.AuthWorker(ctx, w.ID, secret+"x"); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
		t.Errorf("a wrong secret against the cached worker: %v", err)
	}
	// Reports and touches go through the cache too, and drop the copy.
	if err := e.Store().ReportWorker(ctx, w.ID, runbooker.WorkerReport{State: runbooker.WorkerDraining, Now: e.Now()}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.AuthWorker(ctx, w.ID, secret); err != nil || got.State != runbooker.WorkerDraining {
		t.Errorf("after a report through this engine: %+v, %v; want the new state", got, err)
	}
	if err := e.Store().DeleteWorker(ctx, runbooker.DefaultTenant, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AuthWorker(ctx, w.ID, secret); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
		t.Errorf("a worker deleted through this engine still authenticates: %v", err)
	}
}

// countedEngineWithAJob is an engine over a store that counts its reads,
// with tenants default and "other", and one job queued on group (created
// first unless it is empty: the built-in group).
func countedEngineWithAJob(t *testing.T, group string) (*engine.Engine, *readCounter, *runbooker.Job) {
	t.Helper()
	ctx := context.Background()
	st := testStore(t, []string{runbooker.DefaultTenant, "other"}, map[string]string{"org_general_x": "echo hi\n"})
	rc := &readCounter{Store: st}
	e := engine.New(rc, engine.Config{LeaseTTL: 10 * time.Second}, nil)
	if group != "" {
		if _, err := e.CreateGroup(ctx, &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: group}); err != nil {
			t.Fatal(err)
		}
	}
	j, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_x", RunOn: group, Caller: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return e, rc, j
}
