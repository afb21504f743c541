// Package agent is the worker loop shared by the built-in group and by
// hybrid workers: claim jobs, run each in the sandbox, stream records back,
// keep leases alive, and report how each attempt ended. Where jobs come from
// and where reports go is a Transport: in-process calls on the engine for the
// built-in group, the worker protocol over HTTPS for a hybrid worker.
package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// Transport is how an agent talks to the control plane. Every call after a
// claim is fenced by the attempt in its JobRef: ECONFLICT means the attempt
// was lost and the agent must stop its copy without reporting further.
type Transport interface {
	// Claim long-polls for up to limit jobs; it may return none.
	Claim(ctx context.Context, limit int) ([]runbooker.Assignment, error)
	// Start reports that the attempt's process started at the given time.
	Start(ctx context.Context, ref runbooker.JobRef, at time.Time) error
	Heartbeat(ctx context.Context, refs []runbooker.JobRef) ([]runbooker.LeaseState, error)
	Append(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error
	Finish(ctx context.Context, p runbooker.FinishParams) error
}

// FinishClaimer is a Transport that can report an attempt's end and claim
// the freed slot's next job in one call (and one write of the store). The
// agent then claims through its claim loop only when that finds nothing.
type FinishClaimer interface {
	// FinishAndClaim is Finish, then a claim of up to limit jobs without
	// waiting. The jobs returned are this worker's even when the error (of
	// the finish) is not nil.
	FinishAndClaim(ctx context.Context, p runbooker.FinishParams, limit int) ([]runbooker.Assignment, error)
}

// StopRegistry lets a transport kill a job at once instead of at the next
// heartbeat (the engine's hub does this for the built-in group).
type StopRegistry interface {
	OnStop(jobID string, kill func()) (unregister func())
}

// Config tunes an agent.
type Config struct {
	Capacity int // jobs run at once (default 4)
	// Prefetch is how many jobs may be claimed ahead of a free slot, so a
	// slot that frees up starts its next job without a claim round trip.
	// Claimed jobs waiting for a slot keep their leases through heartbeats.
	Prefetch       int
	HeartbeatEvery time.Duration // lease extension interval (default 10s)
	MaxRuntime     time.Duration // per-job runtime limit (default 3h, Azure's fair-share limit)
	OutputCap      int64         // per-job bytes of stream text kept (0: sandbox default)
	PowerShell     string        // "pwsh" or "powershell"
	Interpreters   sandbox.Interpreters
	Stops          StopRegistry // optional
	// Prepare, when set, adjusts a job's sandbox spec before it starts (the
	// asset channel, the managed identity, RunAs) and returns a func to call
	// when the job ended.
	Prepare func(as runbooker.Assignment, spec *sandbox.Spec) (release func(), err error)
	// Modules, when set, gives jobs the uploaded modules their Assignment
	// names (PSModulePath, PYTHONPATH); a job that needs some fails
	// without it.
	Modules *ModuleCache
	// Masks, when set, returns the secret values job id has read so far;
	// the sandbox replaces them by *** in its records and exception.
	Masks func(jobID string) []string
	// Now tells the time the agent reports (a job's start); nil is the
	// wall clock. The built-in group shares the server's clock.
	Now runbooker.Clock
}

// Agent runs jobs from one Transport.
type Agent struct {
	t   Transport
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// running holds the attempts this agent runs, by attempt: a worker that
	// was frozen past its lease may hold an old attempt of a job and, from a
	// long poll answered while it was frozen, a newer one of the same job.
	running map[runbooker.JobRef]*run

	slots    chan struct{}   // claimed and not yet ended: Capacity + Prefetch
	runSlots chan struct{}   // processes running: Capacity
	claimCtx context.Context // cancelled when draining: no more claims
	stopClm  context.CancelFunc
	jobCtx   context.Context // parent of every job's context
	stopHB   context.CancelFunc
	hbDone   chan struct{}
	wg       sync.WaitGroup // claim loop and running jobs
}

type run struct {
	ref    runbooker.JobRef
	cancel context.CancelCauseFunc
	// unstored: the job was handed over while its creation commits
	// (Assignment.Ready has not said yes). The store does not hold the
	// attempt yet, so a heartbeat would hear that it is lost.
	unstored bool
}

var (
	errStopRequested = errors.New("stop requested")
	errLeaseLost     = errors.New("lease lost")
	errShutdown      = errors.New("worker shut down before the job finished")
)

// refusedRetry is how long an agent whose claims the server refuses (see
// the EFORBIDDEN case of claimLoop) waits before it asks again.
const refusedRetry = time.Minute

// claimGather bounds how long a busy agent waits to claim several jobs at
// once; its running and prefetched jobs keep the slots busy meanwhile.
const claimGather = 3 * time.Millisecond

// New returns an agent; Start runs it.
func New(t Transport, cfg Config, log *slog.Logger) *Agent {
	if cfg.Capacity <= 0 {
		cfg.Capacity = 4
	}
	if cfg.HeartbeatEvery <= 0 {
		cfg.HeartbeatEvery = 10 * time.Second
	}
	if cfg.MaxRuntime <= 0 {
		cfg.MaxRuntime = 3 * time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	return &Agent{t: t, cfg: cfg, log: log, running: map[runbooker.JobRef]*run{},
		slots: make(chan struct{}, cfg.Capacity+max(cfg.Prefetch, 0)), runSlots: make(chan struct{}, cfg.Capacity)}
}

// Start launches the claim loop and the heartbeat loop.
func (a *Agent) Start(ctx context.Context) {
	a.claimCtx, a.stopClm = context.WithCancel(ctx)
	// Jobs and heartbeats outlive ctx: they end through Stop's drain.
	a.jobCtx = context.WithoutCancel(ctx)
	var hbCtx context.Context
	hbCtx, a.stopHB = context.WithCancel(a.jobCtx)
	a.hbDone = make(chan struct{})
	a.wg.Add(1)
	go a.claimLoop()
	go a.heartbeatLoop(hbCtx)
}

// Stop drains: no more claims, running jobs may finish until deadline, then
// they are stopped (finished as Stopped) and Stop returns.
func (a *Agent) Stop(deadline time.Duration) {
	if a.stopClm == nil {
		return
	}
	a.stopClm()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	t := time.NewTimer(deadline)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		a.mu.Lock()
		for _, r := range a.running {
			r.cancel(errShutdown)
		}
		a.mu.Unlock()
		<-done
	}
	a.stopHB()
	<-a.hbDone
}

// Running returns the attempts this agent is running now.
func (a *Agent) Running() []runbooker.JobRef { return a.refs(false) }

// refs are the attempts the agent runs; storedOnly leaves out those whose
// creation is still committing (a heartbeat's: the store does not hold
// them yet).
func (a *Agent) refs(storedOnly bool) []runbooker.JobRef {
	a.mu.Lock()
	defer a.mu.Unlock()
	refs := make([]runbooker.JobRef, 0, len(a.running))
	for _, r := range a.running {
		if !storedOnly || !r.unstored {
			refs = append(refs, r.ref)
		}
	}
	return refs
}

func (a *Agent) claimLoop() {
	defer a.wg.Done()
	backoff := 100 * time.Millisecond
	for a.claimCtx.Err() == nil {
		// Take one slot (blocking), then every other free one.
		select {
		case a.slots <- struct{}{}:
		case <-a.claimCtx.Done():
			return
		}
		n := 1
	more:
		for n < cap(a.slots) {
			select {
			case a.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		// While jobs run and prefetched ones wait, nothing starves: gather a
		// few more freed slots so one claim (one write) serves several jobs.
		if n < a.cfg.Prefetch && len(a.Running()) > 0 {
			t := time.NewTimer(claimGather)
		gather:
			for n < a.cfg.Prefetch {
				select {
				case a.slots <- struct{}{}:
					n++
				case <-t.C:
					break gather
				case <-a.claimCtx.Done():
					break gather
				}
			}
			t.Stop()
		}
		jobs, err := a.t.Claim(a.claimCtx, n)
		for i := len(jobs); i < n; i++ {
			<-a.slots
		}
		if err != nil {
			if a.claimCtx.Err() != nil {
				return
			}
			wait := backoff
			switch runbooker.ErrorCode(err) {
			case runbooker.EUNAUTHORIZED:
				a.log.Error("the server rejects this worker's credential: it was removed from its group; "+
					"register again with a new state dir and the group's token", "err", err)
			case runbooker.EFORBIDDEN:
				// The server refuses to hand this worker jobs it cannot
				// run (a Windows worker in a group with a RunAs user);
				// ask again now and then, as the group may change.
				a.log.Error("the server hands this worker no jobs", "reason", runbooker.ErrorMessage(err), "retry_in", refusedRetry)
				wait = refusedRetry
			default:
				a.log.Warn("claim failed", "err", err, "retry_in", backoff)
			}
			select {
			case <-time.After(wait):
			case <-a.claimCtx.Done():
				return
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, as := range jobs {
			a.wg.Add(1)
			go a.runSlot(as)
		}
	}
}

// runSlot runs a claimed job in the slot the claim took, then each job
// the slot took as that one ended, and frees the slot when it takes none.
func (a *Agent) runSlot(as runbooker.Assignment) {
	defer a.wg.Done()
	for {
		var once sync.Once
		free := func() { once.Do(func() { <-a.slots }) }
		next := a.runJob(as, free)
		if next == nil {
			free()
			return
		}
		as = *next
	}
}

func (a *Agent) heartbeatLoop(ctx context.Context) {
	defer close(a.hbDone)
	t := time.NewTicker(a.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		refs := a.refs(true)
		if len(refs) == 0 {
			continue
		}
		states, err := a.t.Heartbeat(ctx, refs)
		if err != nil {
			a.log.Warn("heartbeat failed", "err", err)
			continue
		}
		for _, s := range states {
			switch {
			case s.Lost:
				a.cancelJob(s.Ref, errLeaseLost)
			case s.Status == runbooker.StatusStopping:
				a.cancelJob(s.Ref, errStopRequested)
			}
		}
	}
}

func (a *Agent) cancelJob(ref runbooker.JobRef, cause error) {
	a.mu.Lock()
	r := a.running[ref]
	a.mu.Unlock()
	if r != nil {
		r.cancel(cause)
	}
}
