// Package engine is the job engine: it creates jobs from runbooks, hands
// them to workers through long-poll claims, relays what workers report to the
// store, and wakes whoever waits for a job. It holds no SQL; every state
// change is one call on a runbooker.Store.
package engine

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/keyring"
)

// Config tunes the engine. Zero values take the defaults.
type Config struct {
	LeaseTTL    time.Duration // a claimed job whose lease is not extended for this long is rescued (default 30s)
	MaxAttempts int           // times a Running job may be lost before it is Suspended (default 3)
	Retention   time.Duration // terminal jobs older than this are purged (default 30 days)
	// PollInterval is a fallback re-check of long polls and waits, for
	// wake-ups from outside this process; 0 (the default) disables it, as
	// with SQLite every change goes through this process's hub.
	PollInterval time.Duration
	// Now is the clock of every time the engine stores or compares (nil:
	// the wall clock). The HTTP server reads it through Engine.Now.
	Now runbooker.Clock
	// TenantOutputQuota is the most bytes of record text and values a
	// tenant's stored jobs may hold; 0: no limit. A job claimed when the
	// tenant is at or near it may store only what is left, and the rest of
	// its output is dropped with a Warning record (Assignment.OutputLimit).
	TenantOutputQuota int64
	// CloudLanguages are the languages the built-in group's agent has an
	// interpreter for; nil: assume all (the engine runs without an agent).
	CloudLanguages []runbooker.Language
	// ModuleMaxBytes caps an uploaded module or package file (default
	// 100 MiB); what it unpacks to is capped at ten times that.
	ModuleMaxBytes int64
	// ScheduleEvery is about how often (jittered) each server looks for
	// due job schedules (default 5 s).
	ScheduleEvery time.Duration
}

func (c *Config) defaults() {
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.ScheduleEvery <= 0 {
		c.ScheduleEvery = 5 * time.Second
	}
	if c.ModuleMaxBytes <= 0 {
		c.ModuleMaxBytes = 100 << 20
	}
}

// Engine is the job engine of one server process.
type Engine struct {
	store *cachingStore
	lazy  runbooker.LazyStore // the store, when it can write lazily; else nil
	hub   *Hub
	cfg   Config
	log   *slog.Logger
	keys  *keyring.Keyring
	bus   runbooker.Bus
	quota outputQuota
	ident identityState
	// cloudLangs, once set, overrides cfg.CloudLanguages.
	cloudLangs atomic.Pointer[[]runbooker.Language]
	onEvent    atomic.Pointer[func(runbooker.LiveEvent)]
	observer   atomic.Pointer[Observer]
	schedCheck atomic.Pointer[ScheduleCheck]
	// committing holds, by job id, the creations handed to an early claimer
	// before their write committed; assign takes each out as the job's
	// Assignment.Ready.
	committing sync.Map // string → *creation
}

// creation is the outcome of a job's creating write, once done is closed.
type creation struct {
	done chan struct{}
	err  error
}

func (c *creation) wait() error {
	<-c.done
	return c.err
}

// SetOnEvent has the engine report the live events it causes (jobs created
// and changing status, workers coming and going) to f, which must not
// block: the HTTP server's event stream. Events of other replicas are not
// reported.
func (e *Engine) SetOnEvent(f func(runbooker.LiveEvent)) { e.onEvent.Store(&f) }

func (e *Engine) emit(ev runbooker.LiveEvent) {
	if f := e.onEvent.Load(); f != nil && *f != nil {
		(*f)(ev)
	}
	if o := e.observe(); o != nil {
		o.Event(ev)
	}
}

// emitJob reports a job's creation or new status.
func (e *Engine) emitJob(kind runbooker.LiveEventKind, j *runbooker.Job) {
	if j != nil {
		e.emit(runbooker.LiveEvent{Kind: kind, TenantID: j.TenantID, Job: j, JobID: j.ID, Status: j.Status})
	}
}

// New returns an engine over store.
func New(store runbooker.Store, cfg Config, log *slog.Logger) *Engine {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	lazy, _ := store.(runbooker.LazyStore)
	return &Engine{store: newCachingStore(store), lazy: lazy, hub: NewHub(), cfg: cfg, log: log}
}

// SetBus connects the engine to the other replicas of a deployment: events
// it causes are published, and events of others wake this process's
// claimers, waiters and running jobs. Call before Start of anything.
func (e *Engine) SetBus(ctx context.Context, b runbooker.Bus) {
	e.bus = b
	go func() {
		_ = b.Subscribe(ctx, func(ev runbooker.Event) {
			switch ev.Kind {
			case runbooker.EventQueued:
				e.hub.JobQueued(ev.Group, "", max(ev.Count, 1))
			case runbooker.EventDone:
				e.hub.JobDone(ev.JobID, Outcome{})
			case runbooker.EventStop:
				e.hub.StopJob(ev.JobID)
			}
		})
	}()
}

// queued wakes claimers of group here and on every other replica.
func (e *Engine) queued(group, tenantID string, n int) {
	e.hub.JobQueued(group, tenantID, n)
	e.publish(runbooker.Event{Kind: runbooker.EventQueued, Group: group, Count: n})
}

// done wakes waiters of job id here (handing them out) and on every other
// replica.
func (e *Engine) done(id string, out Outcome) {
	e.hub.JobDone(id, out)
	e.publish(runbooker.Event{Kind: runbooker.EventDone, JobID: id})
}

func (e *Engine) publish(ev runbooker.Event) {
	if e.bus == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := e.bus.Publish(ctx, ev); err != nil {
		e.log.Debug("event not published; replicas rely on their fallback poll", "kind", ev.Kind, "err", err)
	}
}

// Hub returns the engine's in-process notification hub.
func (e *Engine) Hub() *Hub { return e.hub }

// Config returns the effective configuration.
func (e *Engine) Config() Config { return e.cfg }

// Store returns the store the engine works on. Use it (not the store given
// to New) for writes, so the engine's caches learn of them at once.
func (e *Engine) Store() runbooker.Store { return e.store }

// Now returns the engine clock's time in UTC.
func (e *Engine) Now() time.Time { return e.cfg.Now.Now().UTC() }

// CreateJobParams asks for a new job.
type CreateJobParams struct {
	TenantID    string
	RunbookName string
	Params      map[string]any // as the caller sent them; bound and converted here
	RunOn       string         // worker group; empty: the runbook's default, else cloud
	Caller      string         // authenticated principal
	// Authorize, when set, judges the request once the runbook is known and
	// the parameters are bound: it returns the job's target (nil for none)
	// or the error that refuses the job (EFORBIDDEN with the reason, or
	// EINVALID naming a parameter whose target the directory does not know).
	Authorize func(ctx context.Context, rb *runbooker.Runbook, params map[string]any) (*runbooker.JobTarget, error)
	// ID, when set, is the job's id instead of a new one: a scheduled job's
	// (runbooker.ScheduledJobID), so that a second creation fails.
	ID string
	// Schedule and CatchUp are recorded on the job (Job.Schedule, Job.CatchUp).
	Schedule string
	CatchUp  bool
	// Unannounced, with CreateJobWatched, says the caller tells nobody of
	// the job before Watch.Wait returned (a synchronous run), so that its
	// creation need not wait until it is durable (see storeJob).
	Unannounced bool
}

// CreateJob validates the parameters against the runbook's declared ones,
// queues the job and wakes the group's workers.
func (e *Engine) CreateJob(ctx context.Context, p CreateJobParams) (*runbooker.Job, error) {
	p.Unannounced = false // its caller is told of the job at once
	j, err := e.newJob(ctx, p)
	if err != nil {
		return nil, err
	}
	return e.createJob(ctx, p, j)
}

// CreateJobWatched is CreateJob for a caller that waits for the job's end
// (a synchronous run): the returned Watch subscribes to that end before the
// job is stored, so that waiting needs no read of the store to learn that
// the job has not ended yet. The caller must Close the Watch (Wait does).
func (e *Engine) CreateJobWatched(ctx context.Context, p CreateJobParams) (*runbooker.Job, *Watch, error) {
	j, err := e.newJob(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	w := e.watch(j.ID)
	w.lazy = p.Unannounced && e.lazy != nil
	if j, err = e.createJob(ctx, p, j); err != nil {
		w.Close()
		return nil, nil, err
	}
	return j, w, nil
}

// createJob stores the job newJob built and hands it to a worker.
func (e *Engine) createJob(ctx context.Context, p CreateJobParams, j *runbooker.Job) (*runbooker.Job, error) {
	// Direct dispatch: a claimer parked on this server takes the job in the
	// same write that creates it, saving a claim and a wake-up.
	if w := e.hub.TakeWaiterFor(j.RunOn, p.TenantID, j.Language); w != nil {
		d := *j
		d.WorkerID, d.LeaseExpiresAt = w.workerID, j.CreatedAt.Add(e.cfg.LeaseTTL)
		if w.early {
			// An in-process claimer prepares the job (its directory, files
			// and sandbox) while the write commits, and starts it only once
			// Assignment.Ready says the job is stored.
			c := &creation{done: make(chan struct{})}
			e.committing.Store(d.ID, c)
			handed := d
			handed.Status, handed.Attempt, handed.NextSeq, handed.LastModifiedAt = runbooker.StatusActivating, 1, 1, d.CreatedAt
			w.C <- &handed
			c.err = e.storeJob(ctx, p, &d)
			close(c.done)
			if c.err != nil {
				return nil, e.storeFailed("create", c.err)
			}
		} else if err := e.storeJob(ctx, p, &d); err != nil {
			w.C <- nil
			return nil, e.storeFailed("create", err)
		} else {
			w.C <- &d
		}
		e.emitJob(runbooker.LiveJobCreated, j)
		e.emitJob(runbooker.LiveJobStatus, &d)
		return j, nil // to the caller it was queued (New), as the API promises
	}
	if err := e.storeJob(ctx, p, j); err != nil {
		return nil, e.storeFailed("create", err)
	}
	e.queued(j.RunOn, p.TenantID, 1)
	e.emitJob(runbooker.LiveJobCreated, j)
	return j, nil
}

// storeJob stores a new job: lazily when p is Unannounced and the store
// can (runbooker.LazyStore). A synchronous run's caller learns of its job
// only from Watch.Wait, and Wait answers with a job stored durably: a
// finish commits durably (and flushes the creation, committed before it,
// with it), and a job that has not ended is flushed first. So where a
// durable commit costs a flush, the runbook starts one flush sooner. (The
// API's job.start audit entry, written as the job starts, commits durably
// and so flushes the creation a flush after the runbook started.)
func (e *Engine) storeJob(ctx context.Context, p CreateJobParams, j *runbooker.Job) error {
	if e.lazy != nil && p.Unannounced {
		return e.lazy.CreateJobLazily(ctx, j)
	}
	return e.store.CreateJob(ctx, j)
}

// MaxBatch is the most jobs one CreateJobs call creates.
const MaxBatch = 1000

// CreateJobs creates several jobs in one write: each is checked as
// CreateJob checks it, and either all are queued or, when any is refused,
// none is (the error names the first refused one by its index). Bulk
// operations (one runbook for a list of users) and producers that queue
// many jobs at once use it: one commit instead of one per job.
func (e *Engine) CreateJobs(ctx context.Context, ps []CreateJobParams) ([]*runbooker.Job, error) {
	if len(ps) > MaxBatch {
		return nil, runbooker.Errorf(runbooker.EINVALID, "a batch holds at most %d jobs, not %d", MaxBatch, len(ps))
	}
	js := make([]*runbooker.Job, len(ps))
	for i, p := range ps {
		j, err := e.newJob(ctx, p)
		if err != nil {
			if code := runbooker.ErrorCode(err); code == runbooker.EINVALID || code == runbooker.ENOTFOUND || code == runbooker.EFORBIDDEN {
				return nil, runbooker.Errorf(code, "job %d of the batch: %s", i, runbooker.ErrorMessage(err))
			}
			return nil, err
		}
		js[i] = j
	}
	if err := e.store.CreateJobs(ctx, js); err != nil {
		return nil, e.storeFailed("create", err)
	}
	type queue struct{ group, tenant string }
	counts := map[queue]int{}
	for _, j := range js {
		counts[queue{j.RunOn, j.TenantID}]++
	}
	for q, n := range counts {
		e.queued(q.group, q.tenant, n)
	}
	for _, j := range js {
		e.emitJob(runbooker.LiveJobCreated, j)
	}
	return js, nil
}

// newJob checks a request and builds the job it asks for, New.
func (e *Engine) newJob(ctx context.Context, p CreateJobParams) (*runbooker.Job, error) {
	rb, err := e.store.runbook(ctx, p.TenantID, p.RunbookName)
	if err != nil {
		return nil, err
	}
	params, err := bindParams(rb, p.Params, p.Caller)
	if err != nil {
		return nil, err
	}
	var target *runbooker.JobTarget
	if p.Authorize != nil {
		if target, err = p.Authorize(ctx, rb, params); err != nil {
			return nil, err
		}
	}
	runOn, err := e.route(ctx, rb, p.RunOn)
	if err != nil {
		return nil, err
	}
	if err := e.CheckModules(ctx, rb); err != nil {
		return nil, err
	}
	now := e.Now()
	id := p.ID
	if id == "" {
		id = runbooker.NewUUID()
	}
	return &runbooker.Job{
		ID:             id,
		Schedule:       p.Schedule,
		CatchUp:        p.CatchUp,
		TenantID:       p.TenantID,
		RunbookName:    rb.Name,
		RunbookVersion: rb.Version,
		Language:       rb.Language,
		Parameters:     params,
		RunOn:          runOn,
		Caller:         p.Caller,
		Target:         target,
		LogVerbose:     rb.LogVerbose,
		Status:         runbooker.StatusNew,
		CreatedAt:      now,
		LastModifiedAt: now,
	}, nil
}

// bindParams converts the caller's values to the declared types. A runbook
// whose parameters could not be determined (a parse error, or a script that
// declares none in any recognised way: Parameters == nil) takes the values as
// given, since there is nothing to check them against; they are only put in
// the one representation job parameters have (runbooker.ParameterValue).
// Either way, names must be identifiers and values free of NUL bytes
// (runbooker.CheckParameterInput).
func bindParams(rb *runbooker.Runbook, in map[string]any, caller string) (map[string]any, error) {
	undeclared := rb.Meta.Parameters == nil || rb.Meta.ParseError != nil
	if err := runbooker.CheckParameterInput(in, undeclared); err != nil {
		return nil, err
	}
	if undeclared {
		out := make(map[string]any, len(in))
		for k, v := range in {
			out[k] = runbooker.ParameterValue(v)
		}
		return out, nil
	}
	return runbooker.BindParameters(rb.Meta.Parameters, in, caller)
}

// Job returns a job of a tenant.
func (e *Engine) Job(ctx context.Context, tenantID, id string) (*runbooker.Job, error) {
	return e.store.Job(ctx, tenantID, id)
}

// Wait blocks until the job is terminal or ctx ends, and returns the job as
// last seen. It waits on an in-process notification, re-reading the store
// only when woken (and every PollInterval, for jobs finished elsewhere).
func (e *Engine) Wait(ctx context.Context, tenantID, id string) (*runbooker.Job, error) {
	out, err := e.wait(ctx, tenantID, id)
	return out.Job, err
}

// WaitEnd is Wait that also hands over the finisher's records when they
// are the job's whole output (Outcome.Complete): the finish happened in
// this process and carried them. Otherwise the caller reads them from the
// store, page by page, rather than all at once.
func (e *Engine) WaitEnd(ctx context.Context, tenantID, id string) (Outcome, error) {
	return e.wait(ctx, tenantID, id)
}

// WaitOutput is Wait for a synchronous run: it also returns the job's
// records once it has ended. When the finish happened in this process and
// carried the whole output, those are handed over without reading them
// back from the store.
func (e *Engine) WaitOutput(ctx context.Context, tenantID, id string) (*runbooker.Job, []runbooker.StreamRecord, error) {
	out, err := e.wait(ctx, tenantID, id)
	if err != nil || !out.Job.Status.Terminal() || out.Complete {
		return out.Job, out.Records, err
	}
	recs, err := e.store.Streams(context.WithoutCancel(ctx), tenantID, id, runbooker.StreamFilter{})
	if err != nil {
		return nil, nil, err
	}
	return out.Job, recs, nil
}

func (e *Engine) wait(ctx context.Context, tenantID, id string) (Outcome, error) {
	if out, ok := e.hub.Recent(id); ok && out.Job.TenantID == tenantID {
		return out, nil // it ended here lately: no store read
	}
	return e.watch(id).wait(ctx, tenantID, true)
}

// Watch is a subscription to the end of one job (Engine.CreateJobWatched).
type Watch struct {
	e       *Engine
	id      string
	sig     <-chan struct{}
	result  func() Outcome
	release func()
	closed  bool
	lazy    bool // the job was created lazily (runbooker.LazyStore): Wait flushes it unless it ended
}

func (e *Engine) watch(id string) *Watch {
	w := &Watch{e: e, id: id}
	w.sig, w.result, w.release = e.hub.DoneSignal(id)
	return w
}

// Close ends the subscription; Wait closes it too.
func (w *Watch) Close() {
	if !w.closed {
		w.closed = true
		w.release()
	}
}

// Wait is Engine.WaitEnd for the watched job, of tenantID. Its first look
// is the subscription itself: the job cannot have ended before it was
// taken, so the store is read only when a wake-up does not carry the
// ended job (it ended on another replica), at the fallback poll, and once
// when ctx ends (to answer with the job as it stands). It closes w.
func (w *Watch) Wait(ctx context.Context, tenantID string) (Outcome, error) {
	out, err := w.wait(ctx, tenantID, false)
	if w.lazy && err == nil && !out.Job.Status.Terminal() {
		// The caller is about to learn of a job that has not ended: its
		// creation must be durable first. (A terminal status was committed
		// durably, and the creation with it.)
		if err = w.e.lazy.Flush(context.WithoutCancel(ctx)); err != nil {
			return Outcome{}, w.e.storeFailed("create", err)
		}
	}
	return out, err
}

// wait runs the wait; read says whether to look in the store before the
// first wake-up.
func (w *Watch) wait(ctx context.Context, tenantID string, read bool) (Outcome, error) {
	e := w.e
	defer w.Close()
	poll, stop := e.pollTicker()
	defer stop()
	var last *runbooker.Job // as last read
	for {
		if read {
			j, err := e.store.Job(ctx, tenantID, w.id)
			if err != nil || j.Status.Terminal() {
				return Outcome{Job: j}, err
			}
			last = j
		}
		select {
		case <-w.sig:
			// The finisher hands over the job it just stored: no re-read.
			if d := w.result(); d.Job != nil && d.Job.TenantID == tenantID && d.Job.Status.Terminal() {
				return d, nil
			}
		case <-poll:
		case <-ctx.Done():
			if last != nil {
				return Outcome{Job: last}, nil
			}
			j, err := e.store.Job(context.WithoutCancel(ctx), tenantID, w.id)
			return Outcome{Job: j}, err
		}
		w.release()
		w.sig, w.result, w.release = e.hub.DoneSignal(w.id)
		read = true
	}
}

// Stop asks for a job to stop. A queued job stops at once; a running one is
// killed by the worker holding it (at once in this process, at its next
// heartbeat elsewhere).
func (e *Engine) Stop(ctx context.Context, tenantID, id string) (*runbooker.Job, error) {
	now := e.Now()
	j, err := e.store.RequestStop(ctx, tenantID, id, now)
	if err != nil {
		return nil, e.storeFailed("stop", err)
	}
	if j.Status.Terminal() && j.EndedAt.Before(now) {
		return j, nil // it had ended before: nothing changed, nothing to report
	}
	switch j.Status {
	case runbooker.StatusStopping:
		if !e.hub.StopJob(id) {
			e.publish(runbooker.Event{Kind: runbooker.EventStop, JobID: id})
		}
	case runbooker.StatusStopped:
		e.done(id, Outcome{Job: j})
	}
	e.emitJob(runbooker.LiveJobStatus, j)
	return j, nil
}

// Resume re-queues a Suspended job.
func (e *Engine) Resume(ctx context.Context, tenantID, id string) (*runbooker.Job, error) {
	j, err := e.store.ResumeJob(ctx, tenantID, id, e.Now())
	if err != nil {
		return nil, e.storeFailed("resume", err)
	}
	e.queued(j.RunOn, j.TenantID, 1)
	e.emitJob(runbooker.LiveJobStatus, j)
	return j, nil
}

// route picks the worker group of a new job: the caller's runOn, else the
// runbook's default group, else the tenant's default hybrid group for a
// runbook named *_hybrid, else the built-in group.
func (e *Engine) route(ctx context.Context, rb *runbooker.Runbook, runOn string) (string, error) {
	if runOn == "" {
		runOn = rb.DefaultGroup
	}
	if runOn == "" && rb.Meta.Hybrid {
		groups, err := e.store.ListGroups(ctx, rb.TenantID)
		if err != nil {
			return "", err
		}
		for _, g := range groups {
			if g.DefaultHybrid {
				runOn = g.Name
				break
			}
		}
		if runOn == "" {
			return "", runbooker.Errorf(runbooker.EINVALID, "runbook %s is a _hybrid runbook but the tenant has no default hybrid worker group; create one with defaultHybrid or pass runOn", rb.Name)
		}
	}
	if runOn == "" || runOn == runbooker.CloudGroup {
		return runbooker.CloudGroup, nil
	}
	if _, err := e.store.group(ctx, rb.TenantID, runOn); runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return "", runbooker.Errorf(runbooker.EINVALID, "runOn: unknown worker group %q", runOn)
	} else if err != nil {
		return "", err
	}
	return runOn, nil
}

// pollTicker returns the fallback poll of long waits (nil channel when
// PollInterval is 0: never fires) and its stop func.
func (e *Engine) pollTicker() (<-chan time.Time, func()) {
	if e.cfg.PollInterval <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(e.cfg.PollInterval)
	return t.C, t.Stop
}
