package engine

import (
	"context"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/schedule"
)

// CatchUpAfter is how late an occurrence may fire and still count as on
// time; a later one ran for occurrences missed while no server was up and
// its job is marked CatchUp.
const CatchUpAfter = time.Minute

// dueBatch is the most job schedules one pass fires; the next pass takes
// the rest.
const dueBatch = 200

// Recurrence checks s and returns its recurrence math (EINVALID naming
// what is wrong).
func Recurrence(s *runbooker.Schedule) (*schedule.Schedule, error) {
	freq, err := schedule.ParseFrequency(s.Frequency)
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "schedule %s: %v", s.Name, err)
	}
	spec := schedule.Spec{Start: s.StartTime, Expiry: s.ExpiryTime, Frequency: freq, Interval: s.Interval,
		TimeZone: s.TimeZone, MonthDays: s.MonthDays}
	for _, d := range s.WeekDays {
		wd, err := schedule.ParseWeekday(d)
		if err != nil {
			return nil, runbooker.Errorf(runbooker.EINVALID, "schedule %s: %v", s.Name, err)
		}
		spec.WeekDays = append(spec.WeekDays, wd)
	}
	for _, o := range s.MonthlyOccurrences {
		occ, err := schedule.ParseOccurrence(o.Occurrence)
		if err != nil {
			return nil, runbooker.Errorf(runbooker.EINVALID, "schedule %s: %v", s.Name, err)
		}
		wd, err := schedule.ParseWeekday(o.Day)
		if err != nil {
			return nil, runbooker.Errorf(runbooker.EINVALID, "schedule %s: %v", s.Name, err)
		}
		spec.MonthlyOccurrences = append(spec.MonthlyOccurrences, schedule.MonthlyOccurrence{Occurrence: occ, Day: wd})
	}
	r, err := schedule.New(spec)
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "schedule %s: %v", s.Name, err)
	}
	return r, nil
}

// nextRun is the schedule's first occurrence after now: zero when there
// is none or the schedule is disabled.
func nextRun(s *runbooker.Schedule, r *schedule.Schedule, now time.Time) time.Time {
	if !s.Enabled {
		return time.Time{}
	}
	return r.Next(now).UTC()
}

// PutSchedule checks and stores a schedule, then moves each of its job
// schedules to the schedule's next occurrence after now. It returns the
// schedule as stored with NextRun.
func (e *Engine) PutSchedule(ctx context.Context, s *runbooker.Schedule) (*runbooker.Schedule, error) {
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" || len(s.Name) > 128 || strings.ContainsAny(s.Name, "/\\\x00") {
		return nil, runbooker.Errorf(runbooker.EINVALID, "schedule name: 1 to 128 characters, no slashes")
	}
	if s.TimeZone == "" {
		s.TimeZone = "UTC"
	}
	r, err := Recurrence(s)
	if err != nil {
		return nil, err
	}
	s.StartTime, s.ExpiryTime = s.StartTime.UTC(), s.ExpiryTime.UTC()
	if err := e.store.PutSchedule(ctx, s); err != nil {
		return nil, err
	}
	now := e.Now()
	jss, err := e.store.ListJobSchedules(ctx, s.TenantID, s.Name)
	if err != nil {
		return nil, err
	}
	next := nextRun(s, r, now)
	for i := range jss {
		jss[i].NextRunAt = next
		if err := e.store.PutJobSchedule(ctx, &jss[i]); err != nil {
			return nil, err
		}
	}
	return e.Schedule(ctx, s.TenantID, s.Name)
}

// Schedule returns a schedule with its next run.
func (e *Engine) Schedule(ctx context.Context, tenantID, name string) (*runbooker.Schedule, error) {
	s, err := e.store.Schedule(ctx, tenantID, name)
	if err != nil {
		return nil, err
	}
	if r, err := Recurrence(s); err == nil {
		s.NextRun = nextRun(s, r, e.Now())
	}
	return s, nil
}

// Schedules lists the tenant's schedules with their next runs.
func (e *Engine) Schedules(ctx context.Context, tenantID string) ([]runbooker.Schedule, error) {
	ss, err := e.store.ListSchedules(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	for i := range ss {
		if r, err := Recurrence(&ss[i]); err == nil {
			ss[i].NextRun = nextRun(&ss[i], r, now)
		}
	}
	return ss, nil
}

// DeleteSchedule deletes a schedule and its job schedules.
func (e *Engine) DeleteSchedule(ctx context.Context, tenantID, name string) error {
	return e.store.DeleteSchedule(ctx, tenantID, name)
}

// DefaultSchedules creates the schedules Hourly, Daily, Weekly and Monthly
// (enabled, UTC, from the next full hour) that the tenant does not have
// yet, and returns the ones it created.
func (e *Engine) DefaultSchedules(ctx context.Context, tenantID string) ([]runbooker.Schedule, error) {
	start := e.Now().Truncate(time.Hour).Add(time.Hour)
	var out []runbooker.Schedule
	for _, d := range []struct{ name, freq string }{{"Hourly", "Hour"}, {"Daily", "Day"}, {"Weekly", "Week"}, {"Monthly", "Month"}} {
		if _, err := e.store.Schedule(ctx, tenantID, d.name); err == nil {
			continue
		} else if runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			return nil, err
		}
		s, err := e.PutSchedule(ctx, &runbooker.Schedule{TenantID: tenantID, Name: d.name, Frequency: d.freq, Interval: 1,
			TimeZone: "UTC", StartTime: start, Enabled: true, Description: "created by default"})
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

// ScheduleCheck says whether a tenant's runbook may still be started by a
// schedule (the HTTP server's: the tenant's scheduling patterns as they
// are now); an error (EFORBIDDEN) skips the occurrence.
type ScheduleCheck func(ctx context.Context, tenantID string, rb *runbooker.Runbook) error

// SetScheduleCheck has every scheduled run checked by f before its job is
// created.
func (e *Engine) SetScheduleCheck(f ScheduleCheck) { e.schedCheck.Store(&f) }

// LinkParams links a runbook to a schedule.
type LinkParams struct {
	ID           string // empty: a new job schedule; else the one to replace
	TenantID     string
	ScheduleName string
	RunbookName  string
	Params       map[string]any
	RunOn        string
	Caller       string
	// Authorize, when set, judges the link once the runbook is known and
	// the parameters are bound (the HTTP server checks that the runbook is
	// schedulable and the caller may schedule it).
	Authorize func(ctx context.Context, rb *runbooker.Runbook, params map[string]any) error
}

// LinkRunbook checks the parameters as a start would (bound against the
// runbook's declared ones, routed to a worker group) and stores the job
// schedule with the schedule's next occurrence.
func (e *Engine) LinkRunbook(ctx context.Context, p LinkParams) (*runbooker.JobSchedule, error) {
	s, err := e.store.Schedule(ctx, p.TenantID, p.ScheduleName)
	if err != nil {
		return nil, err
	}
	r, err := Recurrence(s)
	if err != nil {
		return nil, err
	}
	rb, err := e.store.runbook(ctx, p.TenantID, p.RunbookName)
	if err != nil {
		return nil, err
	}
	params, err := bindParams(rb, p.Params, p.Caller)
	if err != nil {
		return nil, err
	}
	if p.Authorize != nil {
		if err := p.Authorize(ctx, rb, params); err != nil {
			return nil, err
		}
	}
	if _, err := e.route(ctx, rb, p.RunOn); err != nil {
		return nil, err
	}
	id := p.ID
	if id == "" {
		id = runbooker.NewUUID()
	}
	// The job schedule keeps the caller's values: they are bound again at
	// each run, against the runbook as it is then.
	js := &runbooker.JobSchedule{ID: id, TenantID: p.TenantID, ScheduleName: s.Name, RunbookName: rb.Name,
		Parameters: p.Params, RunOn: p.RunOn, CreatedBy: p.Caller, NextRunAt: nextRun(s, r, e.Now())}
	if js.Parameters == nil {
		js.Parameters = map[string]any{}
	}
	if err := e.store.PutJobSchedule(ctx, js); err != nil {
		return nil, err
	}
	return js, nil
}

// JobSchedules lists the tenant's job schedules, those of scheduleName
// when it is not empty.
func (e *Engine) JobSchedules(ctx context.Context, tenantID, scheduleName string) ([]runbooker.JobSchedule, error) {
	return e.store.ListJobSchedules(ctx, tenantID, scheduleName)
}

// Unlink deletes a job schedule.
func (e *Engine) Unlink(ctx context.Context, tenantID, id string) error {
	return e.store.DeleteJobSchedule(ctx, tenantID, id)
}

// FireSchedules starts the jobs of every due job schedule once and
// returns how many it started. Every server runs it; an occurrence is
// claimed in the database, not in memory: the job is created under an id
// derived from (job schedule, occurrence), so that a second creation by
// another server (or by this one after a crash) fails, and then the job
// schedule is moved to its next occurrence with a compare-and-set.
// Occurrences missed while no server was up fire once, as a catch-up.
func (e *Engine) FireSchedules(ctx context.Context) (int, error) {
	now := e.Now()
	started := 0
	recs := map[string]*schedule.Schedule{}
	// A full batch is followed by the next at once (10,000 job schedules
	// due in the same minute must not wait 50 loop periods), as long as
	// the batch moved something on.
	for {
		due, err := e.store.DueJobSchedules(ctx, now, dueBatch)
		if err != nil {
			e.log.Warn("due job schedules", "err", err)
			return started, err
		}
		moved := 0
		for _, js := range due {
			ok, err := e.fire(ctx, js, now, recs)
			if err != nil {
				e.log.Warn("job schedule not fired", "jobSchedule", js.ID, "tenant", js.TenantID, "err", err)
				continue
			}
			moved++
			if ok {
				started++
			}
		}
		if len(due) < dueBatch || moved == 0 || ctx.Err() != nil {
			return started, nil
		}
	}
}

func (e *Engine) fire(ctx context.Context, js runbooker.JobSchedule, now time.Time, recs map[string]*schedule.Schedule) (bool, error) {
	key := js.TenantID + "\x00" + js.ScheduleName
	r := recs[key]
	if r == nil {
		s, err := e.store.Schedule(ctx, js.TenantID, js.ScheduleName)
		if err != nil {
			return false, err
		}
		if r, err = Recurrence(s); err != nil {
			return false, err
		}
		recs[key] = r
	}
	occurrence := js.NextRunAt
	following := r.Next(now)
	if !following.IsZero() {
		following = following.UTC()
	}
	var authorize func(context.Context, *runbooker.Runbook, map[string]any) (*runbooker.JobTarget, error)
	if check := e.schedCheck.Load(); check != nil && *check != nil {
		authorize = func(ctx context.Context, rb *runbooker.Runbook, _ map[string]any) (*runbooker.JobTarget, error) {
			return nil, (*check)(ctx, js.TenantID, rb)
		}
	}
	j, err := e.CreateJob(ctx, CreateJobParams{
		Authorize:   authorize,
		ID:          runbooker.ScheduledJobID(js.ID, occurrence),
		TenantID:    js.TenantID,
		RunbookName: js.RunbookName,
		Params:      js.Parameters,
		RunOn:       js.RunOn,
		Caller:      "schedule " + js.ScheduleName,
		Schedule:    js.ScheduleName,
		CatchUp:     now.Sub(occurrence) > CatchUpAfter,
	})
	switch code := runbooker.ErrorCode(err); {
	case err == nil:
		if o, ok := e.observe().(interface{ ScheduleFired() }); ok {
			o.ScheduleFired()
		}
	case code == runbooker.ECONFLICT:
		// Another server (or this one before a restart) created it.
	case code == runbooker.EINVALID || code == runbooker.ENOTFOUND || code == runbooker.EFORBIDDEN:
		// The runbook or its parameters changed since the link: this
		// occurrence cannot run, the next one may.
		e.log.Warn("scheduled job refused", "jobSchedule", js.ID, "tenant", js.TenantID,
			"runbook", js.RunbookName, "occurrence", occurrence, "err", runbooker.ErrorMessage(err))
	default:
		return false, err // the store is down: try again on the next pass
	}
	if _, aerr := e.store.AdvanceJobSchedule(ctx, runbooker.AdvanceParams{TenantID: js.TenantID, ID: js.ID,
		From: occurrence, To: following}); aerr != nil {
		return false, aerr
	}
	return err == nil && j != nil, nil
}
