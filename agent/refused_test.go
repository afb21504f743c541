package agent

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// claimOnly is a Transport whose claims all fail with err.
type claimOnly struct {
	err   error
	calls atomic.Int32
}

func (c *claimOnly) Claim(context.Context, int) ([]runbooker.Assignment, error) {
	c.calls.Add(1)
	return nil, c.err
}
func (c *claimOnly) Start(context.Context, runbooker.JobRef, time.Time) error { return nil }
func (c *claimOnly) Heartbeat(context.Context, []runbooker.JobRef) ([]runbooker.LeaseState, error) {
	return nil, nil
}
func (c *claimOnly) Append(context.Context, runbooker.JobRef, []runbooker.StreamRecord) error {
	return nil
}
func (c *claimOnly) Finish(context.Context, runbooker.FinishParams) error { return nil }

// A worker the server refuses jobs (a Windows worker in a RunAs group)
// asks again only after refusedRetry, not at the pace of an outage.
func TestRefusedClaimsWaitLong(t *testing.T) {
	count := func(err error) int32 {
		tr := &claimOnly{err: err}
		a := New(tr, Config{Capacity: 1}, nil)
		a.Start(context.Background())
		time.Sleep(700 * time.Millisecond) // a window, not a wait for something
		a.Stop(time.Second)
		return tr.calls.Load()
	}
	if n := count(runbooker.Errorf(runbooker.EUNAVAILABLE, "down")); n < 3 {
		t.Fatalf("an unreachable server was asked %d times in 700 ms; the test cannot tell", n)
	}
	if n := count(runbooker.Errorf(runbooker.EFORBIDDEN, "group runs as a user")); n != 1 {
		t.Errorf("a refusing server was asked %d times in 700 ms, want once (then after %v)", n, refusedRetry)
	}
}
