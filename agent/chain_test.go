package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/agent"
	"github.com/runbooker/runbooker/engine"
)

// claimCounter counts the store's claims, alone and with a finish.
type claimCounter struct {
	runbooker.Store
	claims, chained, chainedJobs atomic.Int64
}

func (s *claimCounter) ClaimJobs(ctx context.Context, p runbooker.ClaimParams) ([]*runbooker.Job, error) {
	s.claims.Add(1)
	return s.Store.ClaimJobs(ctx, p)
}

func (s *claimCounter) FinishAndClaim(ctx context.Context, f runbooker.FinishParams, c runbooker.ClaimParams) (*runbooker.Job, []*runbooker.Job, error) {
	j, js, err := s.Store.FinishAndClaim(ctx, f, c)
	s.chained.Add(1)
	s.chainedJobs.Add(int64(len(js)))
	return j, js, err
}

// A slot that ends a job takes the next queued one with the same write
// (FinishAndClaim), so a queue of jobs runs in order through one claim of
// the store, not one claim per job; once the queue is empty the agent parks
// again and a new job still reaches it directly.
func TestASlotTakesItsNextJobWithTheFinish(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "order")
	var cs *claimCounter
	e, in, quiet := builtInEngine(t, "org_general_n", "# @param N int\necho $RB_PARAM_N >> "+out+"\n", func(st runbooker.Store) runbooker.Store {
		cs = &claimCounter{Store: st}
		return cs
	})
	var ids []string
	create := func(n int) {
		t.Helper()
		j, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_n",
			Params: map[string]any{"N": n}, Caller: "t"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	const queued = 6
	for n := 1; n <= queued; n++ {
		create(n)
	}
	a := agent.New(&agent.Local{Engine: e, Group: runbooker.CloudGroup, WorkerID: "cloud-test"},
		agent.Config{Capacity: 1, Interpreters: in, Stops: e.Hub()}, quiet)
	a.Start(ctx)
	defer a.Stop(5 * time.Second)
	wait := func(id string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if j, err := e.Wait(wctx, runbooker.DefaultTenant, id); err != nil || j.Status != runbooker.StatusCompleted {
			t.Fatalf("job %s: %+v, %v", id, j, err)
		}
	}
	for _, id := range ids {
		wait(id)
	}
	if got, want := cs.chainedJobs.Load(), int64(queued-1); got != want {
		t.Errorf("%d jobs were claimed with a finish, want %d (every queued job after the first)", got, want)
	}
	if n := cs.claims.Load(); n > 2 {
		t.Errorf("%d claims of the store for %d queued jobs: the slots did not take their next job with the finish", n, queued)
	}
	// The queue is empty: the agent parks and takes the next job directly.
	deadline := time.Now().Add(10 * time.Second)
	for !e.Hub().TakeWaiterProbe(runbooker.CloudGroup, runbooker.DefaultTenant) {
		if time.Now().After(deadline) {
			t.Fatal("the agent never parked after the queue emptied")
		}
		time.Sleep(time.Millisecond)
	}
	create(queued + 1)
	wait(ids[len(ids)-1])
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(b)); strings.Join(got, " ") != "1 2 3 4 5 6 7" {
		t.Fatalf("jobs ran as %v, want each once, in queue order", got)
	}
}
