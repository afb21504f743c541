package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
)

// slowCreate holds every CreateJob until release says how it ends.
type slowCreate struct {
	runbooker.Store
	release chan error
}

func (s *slowCreate) CreateJob(ctx context.Context, j *runbooker.Job) error {
	if err := <-s.release; err != nil {
		return err
	}
	return s.Store.CreateJob(ctx, j)
}

// A claimer that says it waits for Assignment.Ready (the built-in agent)
// is handed a directly dispatched job while the write creating it still
// commits; Ready reports that write's outcome, and the job is stored only
// when it succeeded.
func TestEarlyClaimerGetsTheJobBeforeItsWriteCommits(t *testing.T) {
	for _, fails := range []bool{false, true} {
		t.Run(map[bool]string{false: "stored", true: "refused"}[fails], func(t *testing.T) {
			ctx := context.Background()
			st := testStore(t, []string{runbooker.DefaultTenant}, map[string]string{"org_general_x": "echo hi\n"})
			sc := &slowCreate{Store: st, release: make(chan error)}
			e := engine.New(sc, engine.Config{LeaseTTL: 10 * time.Second}, nil)
			claimed := make(chan []runbooker.Assignment, 1)
			go func() {
				as, _ := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1,
					Wait: 10 * time.Second, Early: true, Languages: []runbooker.Language{runbooker.LangBash}})
				claimed <- as
			}()
			for !e.Hub().TakeWaiterProbe(runbooker.CloudGroup, runbooker.DefaultTenant) {
				time.Sleep(time.Millisecond)
			}
			created := make(chan error, 1)
			go func() {
				_, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: runbooker.DefaultTenant, RunbookName: "org_general_x", Caller: "t"})
				created <- err
			}()
			var as []runbooker.Assignment
			select {
			case as = <-claimed: // while CreateJob still waits in the store
			case <-time.After(5 * time.Second):
				t.Fatal("the early claimer was not handed the job before its write committed")
			}
			if len(as) != 1 || as[0].Ready == nil {
				t.Fatalf("the early claimer got %d assignments (Ready set: %v)", len(as), len(as) == 1 && as[0].Ready != nil)
			}
			if as[0].Status != runbooker.StatusActivating || as[0].Attempt != 1 || as[0].WorkerID != "w" || string(as[0].Script) != "echo hi\n" {
				t.Fatalf("handed job = %+v", as[0].Job)
			}
			ready := make(chan error, 1)
			go func() { ready <- as[0].Ready() }()
			select {
			case err := <-ready:
				t.Fatalf("Ready returned %v before the write finished", err)
			case <-time.After(50 * time.Millisecond):
			}
			var want error
			if fails {
				want = runbooker.Errorf(runbooker.EUNAVAILABLE, "disk full")
			}
			sc.release <- want
			if err := <-ready; (err != nil) != fails {
				t.Fatalf("Ready = %v, want failure %v", err, fails)
			}
			if err := <-created; (err != nil) != fails {
				t.Fatalf("CreateJob = %v, want failure %v", err, fails)
			}
			_, err := st.Job(ctx, runbooker.DefaultTenant, as[0].ID)
			if fails && runbooker.ErrorCode(err) != runbooker.ENOTFOUND || !fails && err != nil {
				t.Fatalf("the job in the store: %v", err)
			}
			if !fails {
				if err := as[0].Ready(); err != nil {
					t.Fatalf("Ready asked again = %v", err)
				}
			}
		})
	}
}
