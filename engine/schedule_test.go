package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// scheduledJobs lists the tenant's jobs started by schedules, oldest first.
func scheduledJobs(t *testing.T, e *engine.Engine) []*runbooker.Job {
	t.Helper()
	var out []*runbooker.Job
	f := runbooker.JobFilter{Limit: 1000}
	for {
		page, err := e.Store().ListJobs(context.Background(), runbooker.DefaultTenant, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Jobs {
			if j.Schedule != "" {
				out = append([]*runbooker.Job{j}, out...)
			}
		}
		if page.Next == "" {
			return out
		}
		f.Cursor = page.Next
	}
}

func link(t *testing.T, e *engine.Engine, s *runbooker.Schedule) *runbooker.JobSchedule {
	t.Helper()
	ctx := context.Background()
	s.TenantID = runbooker.DefaultTenant
	s.Enabled = true
	if _, err := e.PutSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	js, err := e.LinkRunbook(ctx, engine.LinkParams{TenantID: runbooker.DefaultTenant, ScheduleName: s.Name,
		RunbookName: "org_general_x", Params: map[string]any{"n": "7"}, Caller: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Each frequency fires at its occurrences, once each, on the engine's
// clock, with the job recording the schedule.
func TestScheduleFiresEachFrequencyAtItsOccurrences(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		name  string
		s     runbooker.Schedule
		step  time.Duration
		steps int
		want  []time.Time
	}{
		{"OneTime", runbooker.Schedule{Frequency: "OneTime", StartTime: time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC)},
			time.Minute, 120, []time.Time{time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC)}},
		{"Hour", runbooker.Schedule{Frequency: "Hour", Interval: 2, StartTime: time.Date(2026, 11, 25, 8, 15, 0, 0, time.UTC)},
			time.Minute, 300, []time.Time{time.Date(2026, 11, 25, 8, 15, 0, 0, time.UTC), time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC),
				time.Date(2026, 11, 25, 12, 15, 0, 0, time.UTC)}},
		{"Day", runbooker.Schedule{Frequency: "Day", Interval: 1, TimeZone: "Europe/Berlin", StartTime: time.Date(2026, 11, 25, 10, 0, 0, 0, berlin)},
			10 * time.Minute, 3 * 144, []time.Time{time.Date(2026, 11, 25, 10, 0, 0, 0, berlin), time.Date(2026, 11, 26, 10, 0, 0, 0, berlin),
				time.Date(2026, 11, 27, 10, 0, 0, 0, berlin)}},
		{"Week", runbooker.Schedule{Frequency: "Week", Interval: 1, WeekDays: []string{"Monday", "Thursday"}, StartTime: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)},
			time.Hour, 24 * 14, []time.Time{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
				time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}},
		{"Month last Friday", runbooker.Schedule{Frequency: "Month", Interval: 1, StartTime: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			MonthlyOccurrences: []runbooker.ScheduleOccurrence{{Occurrence: "Last", Day: "Friday"}}},
			time.Hour, 24 * 70, []time.Time{time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 12, 25, 12, 0, 0, 0, time.UTC),
				time.Date(2027, 1, 29, 12, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, c := newEngine(t)
			s := tt.s
			s.Name = tt.name
			link(t, e, &s)
			var fired []time.Time
			for range tt.steps {
				n, err := e.FireSchedules(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for range n {
					fired = append(fired, c.Now())
				}
				c.Add(tt.step)
			}
			jobs := scheduledJobs(t, e)
			if len(jobs) != len(tt.want) || len(fired) != len(tt.want) {
				t.Fatalf("%d jobs (fired at %v), want %d at %v", len(jobs), fired, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if fired[i].Before(w) || !fired[i].Before(w.Add(tt.step)) {
					t.Errorf("occurrence %d fired at %v, want within a step after %v", i, fired[i], w)
				}
				j := jobs[i]
				if j.Schedule != tt.name || j.CatchUp || j.Caller != "schedule "+tt.name || j.Parameters["N"] != int64(7) {
					t.Errorf("job %d: schedule %q catch-up %v caller %q parameters %v", i, j.Schedule, j.CatchUp, j.Caller, j.Parameters)
				}
			}
		})
	}
}

// Occurrences missed while no server ran fire once, marked catch-up;
// the schedule then goes on at its own times.
func TestScheduleCatchUpFiresOnceAfterDowntime(t *testing.T) {
	e, c := newEngine(t)
	ctx := context.Background()
	js := link(t, e, &runbooker.Schedule{Name: "hourly", Frequency: "Hour", Interval: 1, StartTime: c.Now().Add(time.Hour)})
	c.Add(time.Hour)
	if n, _ := e.FireSchedules(ctx); n != 1 {
		t.Fatalf("on time: %d jobs", n)
	}
	c.Add(5*time.Hour + 30*time.Minute) // down for five occurrences
	if n, _ := e.FireSchedules(ctx); n != 1 {
		t.Fatalf("after downtime: %d jobs, want 1", n)
	}
	if n, _ := e.FireSchedules(ctx); n != 0 {
		t.Fatalf("a second pass fired %d more", n)
	}
	c.Add(30 * time.Minute)
	if n, _ := e.FireSchedules(ctx); n != 1 {
		t.Fatalf("next occurrence: %d jobs", n)
	}
	jobs := scheduledJobs(t, e)
	if len(jobs) != 3 || jobs[0].CatchUp || !jobs[1].CatchUp || jobs[2].CatchUp {
		t.Fatalf("jobs: %d, catch-up flags %v %v %v", len(jobs), jobs[0].CatchUp, jobs[1].CatchUp, jobs[2].CatchUp)
	}
	got, err := e.Store().JobSchedule(ctx, runbooker.DefaultTenant, js.ID)
	if err != nil || !got.NextRunAt.Equal(c.Now().Add(time.Hour)) {
		t.Fatalf("next run %v (%v), want %v", got.NextRunAt, err, c.Now().Add(time.Hour))
	}
}

// A link binds its parameters as a start does; a disabled schedule fires nothing.
func TestScheduleLinkChecksParametersAndDisabledSchedulesWait(t *testing.T) {
	e, c := newEngine(t)
	ctx := context.Background()
	s := &runbooker.Schedule{TenantID: runbooker.DefaultTenant, Name: "d", Frequency: "Day", Interval: 1, StartTime: c.Now().Add(time.Minute)}
	if _, err := e.PutSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	_, err := e.LinkRunbook(ctx, engine.LinkParams{TenantID: runbooker.DefaultTenant, ScheduleName: "d",
		RunbookName: "org_general_x", Params: map[string]any{"n": "seven"}, Caller: "t"})
	if runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("bad parameter: %v", err)
	}
	if _, err := e.LinkRunbook(ctx, engine.LinkParams{TenantID: runbooker.DefaultTenant, ScheduleName: "d",
		RunbookName: "org_general_x", Params: map[string]any{"n": 1}, Caller: "t"}); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Minute)
	if n, _ := e.FireSchedules(ctx); n != 0 {
		t.Fatalf("a disabled schedule fired %d", n)
	}
	if _, err := e.PutSchedule(ctx, &runbooker.Schedule{TenantID: runbooker.DefaultTenant, Name: "bad", Frequency: "Day", Interval: 1,
		StartTime: c.Now(), TimeZone: "Mars/Olympus"}); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("unknown time zone: %v", err)
	}
}

// Two servers on one PostgreSQL database fire each of 500 occurrences of
// an every-minute schedule exactly once, each pass of both racing.
func TestScheduleTwoServersFireEachOccurrenceOnce(t *testing.T) {
	pgtest.Require(t)
	url := pgtest.Database(t)
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	var engines []*engine.Engine
	for range 2 {
		st, err := postgres.Open(ctx, url, postgres.Config{PoolSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		engines = append(engines, engine.New(st, engine.Config{LeaseTTL: 10 * time.Second, Now: c.Now}, nil))
	}
	st := engines[0].Store()
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.Put(ctx, st, catalog.PutInput{TenantID: runbooker.DefaultTenant, Name: "org_general_x",
		Language: runbooker.LangBash, Content: []byte("# @param N int\necho $RB_PARAM_N\n")}); err != nil {
		t.Fatal(err)
	}
	js := link(t, engines[0], &runbooker.Schedule{Name: "minutely", Frequency: "Hour", Interval: 1, StartTime: c.Now().Add(time.Minute)})
	// An every-minute schedule is 60 job schedules of an hourly one would
	// be; one hourly and the clock moved an hour a step is the same race.
	const occurrences = 500
	var total [2]int
	for range occurrences {
		c.Add(time.Hour)
		var wg sync.WaitGroup
		for i, e := range engines {
			wg.Go(func() {
				for range 2 { // each server passes twice, as jittered loops may
					n, err := e.FireSchedules(ctx)
					if err != nil {
						t.Error(err)
					}
					total[i] += n
				}
			})
		}
		wg.Wait()
	}
	if total[0]+total[1] != occurrences {
		t.Fatalf("servers started %d + %d jobs for %d occurrences", total[0], total[1], occurrences)
	}
	jobs := scheduledJobs(t, engines[1])
	if len(jobs) != occurrences {
		t.Fatalf("%d scheduled jobs stored, want %d", len(jobs), occurrences)
	}
	start := time.Date(2026, 11, 25, 8, 1, 0, 0, time.UTC)
	for k := range occurrences {
		id := runbooker.ScheduledJobID(js.ID, start.Add(time.Duration(k)*time.Hour))
		if _, err := st.Job(ctx, runbooker.DefaultTenant, id); err != nil {
			t.Fatalf("occurrence %d: %v", k, err)
		}
	}
	t.Logf("server 1 started %d, server 2 %d", total[0], total[1])
}

// More job schedules due at once than one batch holds all fire in one pass.
func TestScheduleFiresMoreThanABatchInOnePass(t *testing.T) {
	e, c := newEngine(t)
	ctx := context.Background()
	s := &runbooker.Schedule{TenantID: runbooker.DefaultTenant, Name: "burst", Frequency: "Day", Interval: 1,
		StartTime: c.Now().Add(time.Minute), Enabled: true}
	if _, err := e.PutSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	const n = 450
	for range n {
		if _, err := e.LinkRunbook(ctx, engine.LinkParams{TenantID: runbooker.DefaultTenant, ScheduleName: "burst",
			RunbookName: "org_general_x", Params: map[string]any{"n": 1}, Caller: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(time.Minute)
	if got, err := e.FireSchedules(ctx); err != nil || got != n {
		t.Fatalf("one pass started %d (%v), want %d", got, err, n)
	}
}

// firingCounter is an observer that counts the jobs schedules started.
type firingCounter struct{ fired int }

func (f *firingCounter) Event(runbooker.LiveEvent) {}
func (f *firingCounter) StreamsStored(int, int64)  {}
func (f *firingCounter) StoreError(string)         {}
func (f *firingCounter) ScheduleFired()            { f.fired++ }

// The scheduler tells an observer that can hear it of each job it started
// (the metrics count them), and not of occurrences it did not run.
func TestScheduleFiringsReachTheObserver(t *testing.T) {
	e, c := newEngine(t)
	obs := &firingCounter{}
	e.SetObserver(obs)
	link(t, e, &runbooker.Schedule{Name: "hourly", Frequency: "Hour", Interval: 1, StartTime: c.Now().Add(time.Hour)})
	for range 3 {
		c.Add(time.Hour)
		if _, err := e.FireSchedules(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.FireSchedules(context.Background()); err != nil {
		t.Fatal(err)
	}
	if obs.fired != 3 {
		t.Errorf("the observer heard of %d firings, want 3", obs.fired)
	}
}
