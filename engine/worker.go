package engine

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

// ClaimRequest is a worker's long-poll for jobs.
type ClaimRequest struct {
	TenantID string // empty: any tenant (the built-in group)
	Group    string
	WorkerID string
	Limit    int
	Wait     time.Duration // how long to hold the poll open when nothing is queued
}

// Claim hands up to Limit queued jobs of the group to the worker, waiting up
// to Wait for one to be queued, each as a complete Assignment: the job, the
// source of its pinned version and its group's settings. Both kinds of
// worker take jobs through it: the built-in agent in process, hybrid
// workers through the worker protocol. It returns an empty slice when none
// came.
func (e *Engine) Claim(ctx context.Context, r ClaimRequest) ([]runbooker.Assignment, error) {
	jobs, err := e.claimJobs(ctx, r)
	if len(jobs) == 0 {
		return nil, err
	}
	return e.assign(ctx, r.Group, jobs), err
}

// assign completes claimed jobs. The source comes from the engine's version
// cache, the group's settings from its group cache (the built-in group's
// are per tenant: RunAs and limits set for "cloud"), so a dispatch costs no
// store read. A job whose source cannot be read is failed at once rather
// than left to the rescuer, and left out.
func (e *Engine) assign(ctx context.Context, group string, jobs []*runbooker.Job) []runbooker.Assignment {
	// The jobs are claimed: answer for them even if the caller went away
	// (jobs a worker never receives are rescued when their lease expires).
	ctx = context.WithoutCancel(ctx)
	out := make([]runbooker.Assignment, 0, len(jobs))
	for _, j := range jobs {
		src, err := e.store.RunbookContent(ctx, j.TenantID, j.RunbookVersion)
		if err != nil {
			_, _ = e.Finish(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: j.Attempt},
				Status: runbooker.StatusFailed, Exception: "runbook source not found: " + runbooker.ErrorMessage(err)})
			continue
		}
		as := runbooker.Assignment{Job: j, Script: src}
		if g, err := e.DispatchGroup(ctx, j.TenantID, group); err == nil {
			as.Group = g
		}
		out = append(out, as)
	}
	return out
}

// claimJobs is Claim's long poll: it claims the jobs without completing them.
func (e *Engine) claimJobs(ctx context.Context, r ClaimRequest) ([]*runbooker.Job, error) {
	if r.Limit <= 0 {
		return nil, nil
	}
	var deadline <-chan time.Time
	if r.Wait > 0 {
		t := time.NewTimer(r.Wait)
		defer t.Stop()
		deadline = t.C
	}
	poll, stop := e.pollTicker()
	defer stop()
	polled := false
	for {
		w, cancel := e.hub.Register(r.Group, r.TenantID, r.WorkerID)
		// When the last claim found the queue empty and nothing was queued
		// since, park at once: the next job comes by direct dispatch or a
		// wake-up, and an idle long poll costs the store nothing.
		gen, empty := e.hub.QueueHint(r.Group, r.TenantID)
		var jobs []*runbooker.Job
		var err error
		if !empty || polled || deadline == nil {
			now := e.now()
			jobs, err = e.store.ClaimJobs(ctx, runbooker.ClaimParams{
				TenantID: r.TenantID, Group: r.Group, WorkerID: r.WorkerID, Limit: r.Limit,
				Now: now, LeaseUntil: now.Add(e.cfg.LeaseTTL),
			})
			if err == nil && len(jobs) < r.Limit {
				e.hub.QueueEmpty(r.Group, r.TenantID, gen)
			}
		}
		polled = false
		if err != nil || len(jobs) > 0 || deadline == nil {
			if !cancel() {
				<-w.C // a wake-up: not armed, so never a job
			}
			if len(jobs) == r.Limit {
				// More may be queued than this claim could take: pass the wake-up on.
				e.hub.JobQueued(r.Group, r.TenantID, 1)
			}
			return jobs, err
		}
		e.hub.Arm(w)
		var got *runbooker.Job
		var woken, end bool
		select {
		case got = <-w.C:
			woken = true
		case <-poll:
			polled = true // the fallback poll asks the store whatever the hint says
		case <-deadline:
			end = true
		case <-ctx.Done():
			end = true
		}
		if !woken && !cancel() {
			got = <-w.C // taken by a sender meanwhile: take what it sends
		}
		if got != nil {
			return []*runbooker.Job{got}, nil
		}
		if end {
			return nil, ctx.Err()
		}
	}
}

// StartJob records that the attempt's process started at the given time
// (the engine's clock when zero or later than now).
func (e *Engine) StartJob(ctx context.Context, ref runbooker.JobRef, at time.Time) error {
	now := e.now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	return e.store.StartJob(ctx, ref, at)
}

// Heartbeat extends the leases of the worker's running attempts.
func (e *Engine) Heartbeat(ctx context.Context, workerID string, refs []runbooker.JobRef) ([]runbooker.LeaseState, error) {
	now := e.now()
	return e.store.ExtendLeases(ctx, runbooker.LeaseParams{WorkerID: workerID, Refs: refs, Now: now, Until: now.Add(e.cfg.LeaseTTL)})
}

// AppendStreams stores records of an attempt.
func (e *Engine) AppendStreams(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	return e.store.AppendStreams(ctx, ref, recs)
}

// Finish ends an attempt and wakes whoever waits for the job.
func (e *Engine) Finish(ctx context.Context, p runbooker.FinishParams) (*runbooker.Job, error) {
	if p.Now.IsZero() {
		p.Now = e.now()
	}
	j, err := e.store.FinishJob(ctx, p)
	if err != nil {
		return nil, err
	}
	out := Outcome{Job: j}
	if wholeOutput(p.Records) {
		out.Records, out.Complete = p.Records, true
	}
	e.done(j.ID, out)
	return j, nil
}

// wholeOutput reports whether a finish's records are the job's whole
// output as the store keeps it: they start at sequence 1 (nothing was
// appended before, by this attempt or an earlier one) and hold only text
// every store keeps byte for byte (valid UTF-8 without NUL).
func wholeOutput(recs []runbooker.StreamRecord) bool {
	if len(recs) == 0 || recs[0].Seq != 1 {
		return false
	}
	for i, r := range recs {
		if i > 0 && r.Seq != recs[i-1].Seq+1 {
			return false
		}
		if !storable(r.Text) || !storable(string(r.Value)) {
			return false
		}
	}
	return true
}

func storable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
