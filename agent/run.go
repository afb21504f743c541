package agent

import (
	"context"
	"errors"
	"sync"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// runJob runs one claimed attempt to its end and reports it. Reports go out
// on a context that outlives cancellation of the job itself, so a stopped
// job still says it stopped.
func (a *Agent) runJob(as Assignment) {
	j := as.Job
	ref := runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}
	ctx, cancel := context.WithCancelCause(a.jobCtx)
	defer cancel(nil)
	a.mu.Lock()
	a.running[j.ID] = &run{ref: ref, cancel: cancel}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.running, j.ID)
		a.mu.Unlock()
	}()
	if a.cfg.Stops != nil {
		defer a.cfg.Stops.OnStop(j.ID, func() { cancel(errStopRequested) })()
	}
	// A stop may have been requested between the claim and the registration.
	if j.Status == runbooker.StatusStopping {
		cancel(errStopRequested)
	}

	report := a.jobCtx
	var started sync.WaitGroup
	var lost bool
	var lostMu sync.Mutex
	markLost := func() {
		lostMu.Lock()
		lost = true
		lostMu.Unlock()
		cancel(errLeaseLost)
	}
	spec := sandbox.Spec{
		JobID:      j.ID,
		Language:   j.Language,
		Script:     as.Script,
		Params:     j.Parameters,
		FirstSeq:   max(j.NextSeq, 1),
		Timeout:    a.cfg.MaxRuntime,
		OutputCap:  a.cfg.OutputCap,
		PowerShell: a.cfg.PowerShell,
		OnStart: func(int) {
			started.Add(1)
			go func() {
				defer started.Done()
				if err := a.t.Start(report, ref); runbooker.ErrorCode(err) == runbooker.ECONFLICT {
					// Finished or stopped already, or fenced off: the finish call decides.
					a.log.Debug("start not recorded", "job", j.ID, "err", err)
				} else if err != nil {
					a.log.Warn("start not recorded", "job", j.ID, "err", err)
				}
			}()
		},
	}
	if a.cfg.Env != nil {
		spec.Env = a.cfg.Env(j)
	}
	res := a.cfg.Interpreters.Run(ctx, spec, func(recs []runbooker.StreamRecord) {
		if err := a.t.Append(report, ref, recs); err != nil {
			if runbooker.ErrorCode(err) == runbooker.ECONFLICT {
				markLost()
				return
			}
			a.log.Warn("stream upload failed", "job", j.ID, "err", err)
		}
	})
	started.Wait()
	cause := context.Cause(ctx)
	lostMu.Lock()
	isLost := lost || errors.Is(cause, errLeaseLost)
	lostMu.Unlock()
	if isLost {
		a.log.Warn("lease lost; job abandoned to its newer attempt", "job", j.ID, "attempt", j.Attempt)
		return
	}
	fp := runbooker.FinishParams{Ref: ref, Status: res.Status, Exception: res.Exception}
	if errors.Is(cause, errShutdown) {
		fp.Status, fp.Exception = runbooker.StatusStopped, errShutdown.Error()
	} else if errors.Is(cause, errStopRequested) {
		fp.Status = runbooker.StatusStopped
	}
	if err := a.t.Finish(report, fp); err != nil {
		a.log.Warn("finish not recorded", "job", j.ID, "status", fp.Status, "err", err)
	}
}
