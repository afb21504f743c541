package agent

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// Short jobs are the common case, so their first records and the Running
// transition are held back briefly: a job that ends within holdBack costs
// one finish call that carries everything, instead of start + append +
// finish. Anything longer is reported as it happens. 100 ms covers a
// trivial job's run even on a loaded machine (measured: at 4 jobs per 2
// cores, a third of trivial Bash jobs outlived 30 ms), and is still far
// below what a person watching a job's status or output can notice.
const holdBack = 100 * time.Millisecond

// runJob runs one claimed attempt to its end and reports it. Reports go
// out on a context that outlives cancellation of the job itself, so a
// stopped job still says it stopped. freeSlot is called as soon as the
// process is gone, unless the transport is a FinishClaimer: the report of
// the end then claims the slot's next job, which runJob returns (nil when
// there was none; the caller frees the slot).
func (a *Agent) runJob(as runbooker.Assignment, freeSlot func()) *runbooker.Assignment {
	j := as.Job
	ref := runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}
	ctx, cancel := context.WithCancelCause(a.jobCtx)
	defer cancel(nil)
	rn := &run{ref: ref, cancel: cancel, unstored: as.Ready != nil}
	a.mu.Lock()
	a.running[ref] = rn
	a.mu.Unlock()
	if as.Ready != nil {
		ready := as.Ready
		as.Ready = func() error {
			err := ready()
			if err == nil {
				a.mu.Lock()
				rn.unstored = false
				a.mu.Unlock()
			}
			return err
		}
	}
	defer func() {
		a.mu.Lock()
		delete(a.running, ref)
		a.mu.Unlock()
	}()
	if a.cfg.Stops != nil {
		defer a.cfg.Stops.OnStop(j.ID, func() { cancel(errStopRequested) })()
	}
	// A stop may have been requested between the claim and the registration.
	if j.Status == runbooker.StatusStopping {
		cancel(errStopRequested)
	}

	// A prefetched job waits here for a process slot (heart-beaten meanwhile).
	releaseRun := func() {}
	select {
	case a.runSlots <- struct{}{}:
		var once sync.Once
		releaseRun = func() { once.Do(func() { <-a.runSlots }) }
	case <-ctx.Done():
	}
	defer releaseRun()
	r := &reporter{a: a, ref: ref, cancel: cancel, ready: as.Ready}
	spec := sandbox.Spec{
		JobID:      j.ID,
		Language:   j.Language,
		Script:     as.Script,
		Params:     j.Parameters,
		FirstSeq:   max(j.NextSeq, 1),
		Timeout:    a.cfg.MaxRuntime,
		OutputCap:  a.cfg.OutputCap,
		PowerShell: a.cfg.PowerShell,
		OnStart:    func(int) { r.started() },
	}
	if lim := as.OutputLimit; lim != nil {
		jobCap := spec.OutputCap
		if jobCap <= 0 {
			jobCap = sandbox.DefaultOutputCap
		}
		if *lim < jobCap {
			// A cap of 0 would mean the default: 1 byte keeps nothing but
			// empty lines.
			spec.OutputCap = max(*lim, 1)
			spec.OutputCapReason = fmt.Sprintf("The tenant's quota of stored output is used up "+
				"(%d bytes were left when the job started); delete old jobs or ask the operator for a larger quota", *lim)
		}
	}
	if a.cfg.Masks != nil {
		spec.Secrets = func() []string { return a.cfg.Masks(j.ID) }
	}
	if g := as.Group; g != nil {
		if g.MaxRuntime > 0 {
			spec.Timeout = g.MaxRuntime
		}
		if g.PowerShell != "" {
			spec.PowerShell = g.PowerShell
		}
		spec.Limits = sandbox.Limits{MemoryBytes: g.MemoryLimit, MaxProcs: g.MaxProcesses, CPUWeight: g.CPUWeight}
	}
	if j.Language == runbooker.LangPowerShell {
		if ed := psEdition(as.Script); ed != "" {
			spec.PowerShell = ed // the runbook's own #Requires -PSEdition wins
		}
		spec.Env = powerShellEnv(j)
	}
	if a.cfg.Prepare != nil {
		release, err := a.cfg.Prepare(as, &spec)
		if err != nil {
			r.finish(runbooker.FinishParams{Ref: ref, Status: runbooker.StatusFailed, Exception: err.Error()})
			return nil
		}
		defer release()
	}
	if len(as.Modules) > 0 {
		if a.cfg.Modules == nil {
			r.finish(runbooker.FinishParams{Ref: ref, Status: runbooker.StatusFailed,
				Exception: "the runbook requires uploaded modules, but this worker has no module cache"})
			return nil
		}
		release, err := a.cfg.Modules.Provide(ctx, j, as.Modules, &spec)
		if err != nil {
			r.finish(runbooker.FinishParams{Ref: ref, Status: runbooker.StatusFailed, Exception: err.Error()})
			return nil
		}
		defer release()
	}
	spec.Ready = as.Ready
	res := a.cfg.Interpreters.Run(ctx, spec, r.emit)
	// The process is gone: its slots can take the next job while this one
	// is being reported. A FinishClaimer takes it with the report instead.
	fc, chain := a.t.(FinishClaimer)
	if chain = chain && !res.Aborted && a.claimCtx.Err() == nil; !chain {
		freeSlot()
	}
	if res.Aborted { // no process started: no timer, and the deferred releaseRun frees the run slot
		a.log.Warn("job dropped before it started: its creation was not stored", "job", j.ID, "err", res.Exception)
		return nil
	}
	releaseRun()
	cause := context.Cause(ctx)
	if r.isLost() || errors.Is(cause, errLeaseLost) {
		r.stopTimer()
		a.log.Warn("lease lost; job abandoned to its newer attempt", "job", j.ID, "attempt", j.Attempt)
		return nil
	}
	fp := runbooker.FinishParams{Ref: ref, Status: res.Status, Exception: res.Exception}
	if errors.Is(cause, errShutdown) {
		fp.Status, fp.Exception = runbooker.StatusStopped, errShutdown.Error()
	} else if errors.Is(cause, errStopRequested) {
		fp.Status = runbooker.StatusStopped
	}
	if !chain {
		fc = nil
	}
	return r.finishAndClaim(fp, fc)
}

// reporter sends one attempt's start, records and finish to the transport,
// holding back the start and the first records for holdBack.
type reporter struct {
	a      *Agent
	ref    runbooker.JobRef
	cancel context.CancelCauseFunc
	ready  func() error // Assignment.Ready: nothing is reported before it returns nil

	sendMu sync.Mutex // serialises transport calls: records stay in order

	mu        sync.Mutex
	startedAt time.Time
	holding   bool
	held      []runbooker.StreamRecord
	timer     *time.Timer
	lost      bool
}

func (r *reporter) started() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startedAt = r.a.cfg.Now.Now().UTC()
	r.holding = true
	r.timer = time.AfterFunc(holdBack, r.release)
}

// release ends the hold-back: the job is still running, so report its
// start and what it wrote so far.
func (r *reporter) release() {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.mu.Lock()
	if !r.holding {
		r.mu.Unlock()
		return
	}
	r.holding = false
	held, at := r.held, r.startedAt
	r.held = nil
	r.mu.Unlock()
	if err := r.a.t.Start(r.a.jobCtx, r.ref, at); err != nil {
		// Stopping already, or fenced off: the finish call decides.
		r.a.log.Debug("start not recorded", "job", r.ref.ID, "err", err)
	}
	if len(held) > 0 {
		r.append(held)
	}
}

func (r *reporter) emit(recs []runbooker.StreamRecord) {
	r.mu.Lock()
	if r.holding {
		r.held = append(r.held, recs...)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.append(recs)
}

// append sends records; must hold sendMu.
func (r *reporter) append(recs []runbooker.StreamRecord) {
	if r.isLost() {
		return
	}
	if err := r.a.t.Append(r.a.jobCtx, r.ref, recs); err != nil {
		if runbooker.ErrorCode(err) == runbooker.ECONFLICT {
			r.mu.Lock()
			r.lost = true
			r.mu.Unlock()
			r.cancel(errLeaseLost)
			return
		}
		r.a.log.Warn("stream upload failed", "job", r.ref.ID, "err", err)
	}
}

func (r *reporter) isLost() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lost
}

func (r *reporter) stopTimer() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
	}
}

// finish reports the end, with any held-back records and the start time.
func (r *reporter) finish(fp runbooker.FinishParams) {
	r.finishAndClaim(fp, nil)
}

// finishAndClaim is finish that, through fc, also claims the slot's next
// job and returns it (nil for none, and always when fc is nil).
func (r *reporter) finishAndClaim(fp runbooker.FinishParams, fc FinishClaimer) *runbooker.Assignment {
	r.stopTimer()
	if r.ready != nil {
		if err := r.ready(); err != nil {
			return nil // the job was never stored: there is nothing to finish
		}
	}
	r.sendMu.Lock() // waits for a release that is under way
	defer r.sendMu.Unlock()
	r.mu.Lock()
	if r.holding {
		fp.Records, r.held, r.holding = r.held, nil, false
	}
	fp.StartedAt = r.startedAt
	r.mu.Unlock()
	if fc == nil {
		if err := r.a.t.Finish(r.a.jobCtx, fp); err != nil {
			r.a.log.Warn("finish not recorded", "job", r.ref.ID, "status", fp.Status, "err", err)
		}
		return nil
	}
	next, err := fc.FinishAndClaim(r.a.jobCtx, fp, 1)
	if err != nil {
		r.a.log.Warn("finish not recorded", "job", r.ref.ID, "status", fp.Status, "err", err)
	}
	if len(next) == 0 {
		return nil
	}
	return &next[0]
}

var requiresEdition = regexp.MustCompile(`(?im)^\s*#requires\b[^\r\n]*-psedition\s+(desktop|core)\b`)

// psEdition reads a runbook's "#Requires -PSEdition Desktop|Core": Desktop
// needs Windows PowerShell 5.1 (powershell), Core PowerShell 7 (pwsh).
func psEdition(script []byte) string {
	m := requiresEdition.FindSubmatch(script)
	if m == nil {
		return ""
	}
	if strings.EqualFold(string(m[1]), "desktop") {
		return "powershell"
	}
	return "pwsh"
}

// powerShellEnv is what a PowerShell job's host learns from the job itself:
// the runbook's "log verbose records" setting.
func powerShellEnv(j *runbooker.Job) map[string]string {
	return map[string]string{sandbox.EnvLogVerbose: strconv.FormatBool(j.LogVerbose)}
}
