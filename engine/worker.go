package engine

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

// RegisterParams is what a worker says of itself when it registers.
type RegisterParams struct {
	Token    string
	Name     string
	Version  string
	OS       string
	Arch     string
	Hostname string
	// Languages the worker has an interpreter for; nil when it did not say.
	Languages []runbooker.Language
}

// Register exchanges a group's registration token for a worker credential.
func (e *Engine) Register(ctx context.Context, p RegisterParams) (*runbooker.Worker, string, error) {
	if !strings.HasPrefix(p.Token, "rbg_") {
		return nil, "", runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid registration token")
	}
	now := e.Now()
	// Counting the use first keeps a token's maximum exact under
	// concurrent registrations; a registration that then fails (the group
	// was just deleted, the database went away) has spent its use.
	g, err := e.store.UseGroupToken(ctx, runbooker.HashSecret(p.Token), now)
	switch runbooker.ErrorCode(err) {
	case "":
	case runbooker.ENOTFOUND:
		return nil, "", runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid registration token")
	case runbooker.ECONFLICT:
		return nil, "", runbooker.Errorf(runbooker.EUNAUTHORIZED, "%s; rotate it (runbooker group rotate-token)", runbooker.ErrorMessage(err))
	default:
		return nil, "", err
	}
	secret := runbooker.NewSecret()
	name := p.Name
	if name == "" {
		name = p.Hostname
	}
	w := &runbooker.Worker{
		ID: runbooker.NewID(), TenantID: g.TenantID, Group: g.Name, Name: trim(name, 100), SecretHash: runbooker.HashSecret(secret),
		Version: trim(p.Version, 50), OS: trim(p.OS, 30), Arch: trim(p.Arch, 30), Hostname: trim(p.Hostname, 255),
		RegisteredAt: now, LastSeenAt: now, Languages: knownLanguages(p.Languages),
	}
	if err := e.store.CreateWorker(ctx, w); err != nil {
		return nil, "", err
	}
	e.emitWorker(runbooker.LiveWorkerOnline, w, now)
	return w, secret, nil
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// AuthWorker checks a worker credential. A removed worker is unknown at once.
func (e *Engine) AuthWorker(ctx context.Context, id, secret string) (*runbooker.Worker, error) {
	w, err := e.store.Worker(ctx, id)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		runbooker.SecretMatches(secret, strings.Repeat("0", 64))
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid worker credentials")
	} else if err != nil {
		return nil, err
	}
	if !runbooker.SecretMatches(secret, w.SecretHash) {
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid worker credentials")
	}
	return w, nil
}

// touchEvery bounds how often a worker's last-seen time is written: the
// online window is minutes, so a write per long poll would be waste.
const touchEvery = 15 * time.Second

// TouchWorker records that a worker was seen now.
func (e *Engine) TouchWorker(ctx context.Context, w *runbooker.Worker) error {
	now := e.Now()
	if now.Sub(w.LastSeenAt) < touchEvery {
		return nil // w was read from the store just now: its time is fresh enough
	}
	if err := e.store.TouchWorker(ctx, w.ID, now); err != nil {
		return err
	}
	if !w.Online(now) { // it was offline until this
		e.emitWorker(runbooker.LiveWorkerOnline, w, now)
	}
	return nil
}

// emitWorker reports a worker coming online or going offline (seen at now).
// Going silent is not reported here (a worker is offline once unseen for
// runbooker.WorkerOnlineWindow, which no call observes): the HTTP event
// stream reads workers' liveness for that.
func (e *Engine) emitWorker(kind runbooker.LiveEventKind, w *runbooker.Worker, now time.Time) {
	if w.TenantID == "" {
		return // the built-in group's agent serves every tenant
	}
	c := *w
	c.LastSeenAt = now
	e.emit(runbooker.LiveEvent{Kind: kind, TenantID: w.TenantID, Worker: &c})
}

// HeldAttempt is HeldJob for a worker's call about its attempt whose write
// the store fences by the attempt itself (a start, records, a finish): it
// answers when the job was created. An attempt this server handed to w
// lately is answered from memory (Hub.Handed), without a read of the store.
func (e *Engine) HeldAttempt(ctx context.Context, w *runbooker.Worker, ref runbooker.JobRef) (time.Time, error) {
	if worker, tenant, created, ok := e.hub.Handed(ref); ok && worker == w.ID && tenant == w.TenantID {
		return created, nil
	}
	j, err := e.HeldJob(ctx, w, ref, false)
	if err != nil {
		return time.Time{}, err
	}
	return j.CreatedAt, nil
}

// HeldJob returns the job of ref if worker w holds that attempt now: same
// tenant, claimed by w, current attempt. Anything else is ECONFLICT (the
// worker must drop its copy) or ENOTFOUND.
func (e *Engine) HeldJob(ctx context.Context, w *runbooker.Worker, ref runbooker.JobRef, needLease bool) (*runbooker.Job, error) {
	j, err := e.store.Job(ctx, w.TenantID, ref.ID)
	if err != nil {
		return nil, err
	}
	if j.WorkerID != w.ID || j.Attempt != ref.Attempt {
		return nil, runbooker.Errorf(runbooker.ECONFLICT, "job %s attempt %d is not held by this worker", ref.ID, ref.Attempt)
	}
	if needLease {
		switch j.Status {
		case runbooker.StatusActivating, runbooker.StatusRunning, runbooker.StatusStopping:
		default:
			return nil, runbooker.Errorf(runbooker.ECONFLICT, "job %s is %s: its lease is over", ref.ID, j.Status)
		}
	}
	return j, nil
}

// ClaimRequest is a worker's long-poll for jobs.
type ClaimRequest struct {
	TenantID string // empty: any tenant (the built-in group)
	Group    string
	WorkerID string
	Limit    int
	Wait     time.Duration // how long to hold the poll open when nothing is queued
	// Languages the worker can run; nil: any. For the built-in group nil
	// means the server's own (Config.CloudLanguages).
	Languages []runbooker.Language
	// Early says the claimer runs in this process and calls
	// Assignment.Ready before it starts a job: a job dispatched directly to
	// it is handed over while the write creating it still commits, so the
	// worker prepares the job meanwhile.
	Early bool
}

// Claim hands up to Limit queued jobs of the group to the worker, waiting up
// to Wait for one to be queued, each as a complete Assignment: the job, the
// source of its pinned version and its group's settings. Both kinds of
// worker take jobs through it: the built-in agent in process, hybrid
// workers through the worker protocol. It returns an empty slice when none
// came.
func (e *Engine) Claim(ctx context.Context, r ClaimRequest) ([]runbooker.Assignment, error) {
	r = e.claimLanguagesOf(r)
	jobs, err := e.claimJobs(ctx, r)
	if len(jobs) == 0 {
		return nil, err
	}
	return e.assign(ctx, r.Group, jobs), err
}

// claimLanguagesOf sets the languages r claims: the built-in group's
// agent, which serves every tenant, runs those it has interpreters for.
func (e *Engine) claimLanguagesOf(r ClaimRequest) ClaimRequest {
	if r.Languages == nil && r.Group == runbooker.CloudGroup && r.TenantID == "" {
		r.Languages = e.cloudLanguages()
	}
	r.Languages = claimLanguages(r.Languages)
	return r
}

// claimed reports the jobs a claim of r took from the store: their status
// to observers and, when the claim took fewer than it could, that the
// queue held no more for r when the claim began (gen: its queue hint). A
// claim limited to some languages may leave jobs of others queued: it
// records that none of its own languages are.
func (e *Engine) claimed(r ClaimRequest, gen uint64, jobs []*runbooker.Job) {
	for _, j := range jobs {
		e.emitJob(runbooker.LiveJobStatus, j)
	}
	if len(jobs) < r.Limit {
		e.hub.QueueEmpty(r.Group, r.TenantID, r.Languages, gen)
	}
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
		if group != runbooker.CloudGroup {
			// Only a hybrid worker calls back about its attempt over HTTP
			// (HeldAttempt); the built-in agent's calls are in-process, and
			// its many short jobs would push theirs out of the memory.
			e.hub.Hand(j)
		}
		var ready func() error
		if c, ok := e.committing.LoadAndDelete(j.ID); ok {
			ready = c.(*creation).wait
		}
		fail := func(exception string) {
			if ready != nil && ready() != nil {
				return // never stored: nothing to fail
			}
			_, _ = e.Finish(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: j.Attempt},
				Status: runbooker.StatusFailed, Exception: exception})
		}
		src, err := e.store.RunbookContent(ctx, j.TenantID, j.RunbookVersion)
		if err != nil {
			fail("runbook source not found: " + runbooker.ErrorMessage(err))
			continue
		}
		mods, err := e.ResolveModules(ctx, j.TenantID, j.Language, src)
		if runbooker.ErrorCode(err) == runbooker.EINVALID {
			fail(runbooker.ErrorMessage(err))
			continue
		} else if err != nil {
			// The store did not answer: the job goes back to the queue
			// when its lease expires, rather than fail for it.
			e.log.Warn("resolving a claimed job's modules", "job", j.ID, "err", err)
			continue
		}
		as := runbooker.Assignment{Job: j, Script: src, OutputLimit: e.outputLimit(ctx, j.TenantID),
			Identity: e.jobIdentity(ctx, j.TenantID), Modules: mods, Ready: ready}
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
		w, cancel := e.hub.register(r.Group, r.TenantID, r.WorkerID, r.Languages, r.Early)
		// When the last claim found the queue empty and nothing was queued
		// since, park at once: the next job comes by direct dispatch or a
		// wake-up, and an idle long poll costs the store nothing.
		gen, empty := e.hub.QueueHint(r.Group, r.TenantID, r.Languages)
		var jobs []*runbooker.Job
		var err error
		if !empty || polled || deadline == nil {
			now := e.Now()
			jobs, err = e.store.ClaimJobs(ctx, runbooker.ClaimParams{
				TenantID: r.TenantID, Group: r.Group, WorkerID: r.WorkerID, Limit: r.Limit,
				Now: now, LeaseUntil: now.Add(e.cfg.LeaseTTL), Languages: r.Languages,
			})
			if err = e.storeFailed("claim", err); err == nil {
				e.claimed(r, gen, jobs)
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
	now := e.Now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	if err := e.store.StartJob(ctx, ref, at); err != nil {
		return e.storeFailed("start", err)
	}
	e.emit(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, JobID: ref.ID, Status: runbooker.StatusRunning})
	return nil
}

// Heartbeat extends the leases of the worker's running attempts.
func (e *Engine) Heartbeat(ctx context.Context, workerID string, refs []runbooker.JobRef) ([]runbooker.LeaseState, error) {
	now := e.Now()
	states, err := e.store.ExtendLeases(ctx, runbooker.LeaseParams{WorkerID: workerID, Refs: refs, Now: now, Until: now.Add(e.cfg.LeaseTTL)})
	return states, e.storeFailed("heartbeat", err)
}

// AppendStreams stores records of an attempt.
func (e *Engine) AppendStreams(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	if err := e.store.AppendStreams(ctx, ref, recs); err != nil {
		return e.storeFailed("append", err)
	}
	e.streamsStored(recs)
	return nil
}

// Finish ends an attempt and wakes whoever waits for the job.
func (e *Engine) Finish(ctx context.Context, p runbooker.FinishParams) (*runbooker.Job, error) {
	if p.Now.IsZero() {
		p.Now = e.Now()
	}
	j, err := e.store.FinishJob(ctx, p)
	if err != nil {
		return nil, e.storeFailed("finish", err)
	}
	e.finished(j, p)
	return j, nil
}

// finished tells the waiters and observers of a job that p ended it.
func (e *Engine) finished(j *runbooker.Job, p runbooker.FinishParams) {
	e.streamsStored(p.Records)
	out := Outcome{Job: j}
	if wholeOutput(p.Records) {
		out.Records, out.Complete = p.Records, true
	}
	e.done(j.ID, out)
	e.emitJob(runbooker.LiveJobStatus, j)
}

// FinishAndClaim is Finish followed by a claim of r without waiting, in
// one write: a worker slot that ends a job takes its next one with the
// same commit. When the group's queue is known to be empty (the last claim
// found nothing and nothing was queued since), it only finishes. The
// assignments are the worker's even when the error (of the finish) is not
// nil.
func (e *Engine) FinishAndClaim(ctx context.Context, p runbooker.FinishParams, r ClaimRequest) (*runbooker.Job, []runbooker.Assignment, error) {
	r = e.claimLanguagesOf(r)
	gen, empty := e.hub.QueueHint(r.Group, r.TenantID, r.Languages)
	if r.Limit <= 0 || empty {
		j, err := e.Finish(ctx, p)
		return j, nil, err
	}
	if p.Now.IsZero() {
		p.Now = e.Now()
	}
	j, jobs, err := e.store.FinishAndClaim(ctx, p, runbooker.ClaimParams{
		TenantID: r.TenantID, Group: r.Group, WorkerID: r.WorkerID, Limit: r.Limit,
		Now: p.Now, LeaseUntil: p.Now.Add(e.cfg.LeaseTTL), Languages: r.Languages,
	})
	if j != nil && err == nil {
		e.finished(j, p)
	}
	if err == nil || len(jobs) > 0 { // the claim ran (the error is the finish's)
		e.claimed(r, gen, jobs)
	}
	err = e.storeFailed("finish", err)
	if len(jobs) == 0 {
		return j, nil, err
	}
	return j, e.assign(ctx, r.Group, jobs), err
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
