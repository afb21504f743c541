package agent_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/agent"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/sandbox"
	"github.com/runbooker/runbooker/sqlite"
)

// refusingStore fails the next CreateJob once refuse is set.
type refusingStore struct {
	runbooker.Store
	refuse atomic.Bool
}

func (s *refusingStore) CreateJob(ctx context.Context, j *runbooker.Job) error {
	if s.refuse.Swap(false) {
		time.Sleep(20 * time.Millisecond) // the agent prepares the job meanwhile
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "the database went away")
	}
	return s.Store.CreateJob(ctx, j)
}

// The built-in agent is handed a job while its creation commits and
// prepares it meanwhile; when the creation fails, the runbook never runs
// and nothing is reported, and the next job runs as usual.
func TestBuiltInAgentRunsNothingWhoseCreationFailed(t *testing.T) {
	ctx := context.Background()
	marker := filepath.Join(t.TempDir(), "ran")
	var rs *refusingStore
	e, in, quiet := builtInEngine(t, "org_general_touch", "touch "+marker+"\n", func(st runbooker.Store) runbooker.Store {
		rs = &refusingStore{Store: st}
		return rs
	})
	a := agent.New(&agent.Local{Engine: e, Group: runbooker.CloudGroup, WorkerID: "cloud-test"},
		agent.Config{Capacity: 1, Interpreters: in, Stops: e.Hub()}, quiet)
	a.Start(ctx)
	defer a.Stop(5 * time.Second)
	armed := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !e.Hub().TakeWaiterProbe(runbooker.CloudGroup, runbooker.DefaultTenant) {
			if time.Now().After(deadline) {
				t.Fatal("the built-in agent never parked")
			}
			time.Sleep(time.Millisecond)
		}
	}
	armed()
	rs.refuse.Store(true)
	req := engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_touch", Caller: "t"}
	if _, err := e.CreateJob(ctx, req); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Fatalf("CreateJob with the store refusing = %v", err)
	}
	armed() // the agent dropped the job and parked again
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the runbook of a job never stored ran (%v)", err)
	}
	j, err := e.CreateJob(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if j, err = e.Wait(wctx, runbooker.DefaultTenant, j.ID); err != nil || j.Status != runbooker.StatusCompleted {
		t.Fatalf("the next job: %v, %v", j, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the next job did not run: %v", err)
	}
}

// builtInEngine returns an engine on a new SQLite store, seen through wrap,
// whose default tenant has one Bash runbook, and the interpreters and
// logger for a built-in agent on it. It skips the test without bash.
func builtInEngine(t *testing.T, name, script string, wrap func(runbooker.Store) runbooker.Store) (*engine.Engine, sandbox.Interpreters, *slog.Logger) {
	t.Helper()
	in := sandbox.ResolveInterpreters()
	if in.Bash == "" {
		t.Skip("no bash")
	}
	in.TempRoot = t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.Put(ctx, st, catalog.PutInput{TenantID: runbooker.DefaultTenant, Name: name,
		Language: runbooker.LangBash, Content: []byte(script)}); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return engine.New(wrap(st), engine.Config{LeaseTTL: 10 * time.Second}, quiet), in, quiet
}

// slowCreateStore commits each creation late, while heartbeats go on.
type slowCreateStore struct {
	runbooker.Store
	delay time.Duration
}

func (s *slowCreateStore) CreateJob(ctx context.Context, j *runbooker.Job) error {
	time.Sleep(s.delay)
	return s.Store.CreateJob(ctx, j)
}

// A job handed over while its creation commits is not heartbeaten until the
// creation is stored: the store does not hold its attempt yet, and would
// answer "lost", and the agent would abandon a job that then waited for
// its lease to expire (a bench run caught one starting 41 s late so).
func TestBuiltInAgentDoesNotHeartbeatAJobWhoseCreationCommits(t *testing.T) {
	ctx := context.Background()
	e, in, quiet := builtInEngine(t, "org_general_hi", "echo hi\n", func(st runbooker.Store) runbooker.Store {
		return &slowCreateStore{Store: st, delay: 300 * time.Millisecond}
	})
	a := agent.New(&agent.Local{Engine: e, Group: runbooker.CloudGroup, WorkerID: "cloud-test"},
		agent.Config{Capacity: 1, Interpreters: in, Stops: e.Hub(), HeartbeatEvery: 20 * time.Millisecond}, quiet)
	a.Start(ctx)
	defer a.Stop(5 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !e.Hub().TakeWaiterProbe(runbooker.CloudGroup, runbooker.DefaultTenant) {
		if time.Now().After(deadline) {
			t.Fatal("the built-in agent never parked")
		}
		time.Sleep(time.Millisecond)
	}
	j, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_hi", Caller: "t"})
	if err != nil {
		t.Fatal(err)
	}
	// Well within the engine's 10 s lease: an abandoned job would wait for it.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if j, err = e.Wait(wctx, runbooker.DefaultTenant, j.ID); err != nil || j.Status != runbooker.StatusCompleted || j.Attempt != 1 {
		t.Fatalf("the job: %+v, %v; want it Completed in its first attempt", j, err)
	}
}
