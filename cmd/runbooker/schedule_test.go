package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

const scheduledScript = "#!/bin/bash\n# @param Count int mandatory\necho \"count $Count\"\n"

// Schedules end to end on the server's clock: the API answers with next
// runs, only schedulable runbooks are linked and their parameters are
// checked, an occurrence fires once with the job recording its schedule,
// and after downtime the missed occurrences fire once, as a catch-up.
func TestScheduleEndToEnd(t *testing.T) {
	// Kept long enough to outlast the downtime below.
	s := startServer(t, func(c *ServeConfig) { c.Retention = 30 * 24 * time.Hour })
	ctx := context.Background()
	s.put("org_general_report_scheduled", runbooker.LangBash, scheduledScript)
	s.put("org_general_report", runbooker.LangBash, scheduledScript)

	now := s.clock.Now().UTC()
	start := now.Truncate(time.Hour).Add(2 * time.Hour)
	sc, err := s.client.PutSchedule(ctx, runbooker.Schedule{Name: "nightly", Frequency: "Day", Interval: 1,
		TimeZone: "Europe/Berlin", StartTime: start, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if !sc.NextRun.Equal(start) {
		t.Fatalf("next run %v, want %v", sc.NextRun, start)
	}
	if _, err := s.client.PutSchedule(ctx, runbooker.Schedule{Name: "bad", Frequency: "Day", Interval: 1,
		TimeZone: "Mars/Olympus", StartTime: start}); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("unknown time zone: %v", err)
	}
	defaults, err := s.client.DefaultSchedules(ctx)
	if err != nil || len(defaults) != 4 {
		t.Fatalf("defaults: %v %v", defaults, err)
	}
	if again, err := s.client.DefaultSchedules(ctx); err != nil || len(again) != 0 {
		t.Fatalf("defaults twice: %v %v", again, err)
	}

	_, err = s.client.Link(ctx, rbhttp.LinkRequest{ScheduleName: "nightly", RunbookName: "org_general_report", Parameters: map[string]any{"Count": 1}})
	if runbooker.ErrorCode(err) != runbooker.EFORBIDDEN {
		t.Fatalf("linking a runbook outside *_scheduled: %v", err)
	}
	_, err = s.client.Link(ctx, rbhttp.LinkRequest{ScheduleName: "nightly", RunbookName: "org_general_report_scheduled", Parameters: map[string]any{"Count": "many"}})
	if runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("linking with a bad parameter: %v", err)
	}
	js, err := s.client.Link(ctx, rbhttp.LinkRequest{ScheduleName: "nightly", RunbookName: "org_general_report_scheduled", Parameters: map[string]any{"Count": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if !js.NextRunAt.Equal(start) {
		t.Fatalf("job schedule next run %v, want %v", js.NextRunAt, start)
	}

	// The servers' own scheduler loop runs too (every few real seconds):
	// the test passes it by hand and counts jobs, whoever fired them.
	jobs := func() []*runbooker.Job {
		t.Helper()
		if _, err := s.m.Engine.FireSchedules(ctx); err != nil {
			t.Fatal(err)
		}
		page, err := s.client.Jobs(ctx, url.Values{"runbook": {"org_general_report_scheduled"}})
		if err != nil {
			t.Fatal(err)
		}
		return page.Jobs
	}
	if js := jobs(); len(js) != 0 {
		t.Fatalf("%d jobs before the start", len(js))
	}
	s.clock.Advance(start.Sub(now))
	if js := jobs(); len(js) != 1 {
		t.Fatalf("%d jobs at the start, want 1", len(js))
	}
	if js := jobs(); len(js) != 1 {
		t.Fatalf("%d jobs after a second pass, want 1", len(js))
	}
	j := s.waitJob(runbooker.ScheduledJobID(js.ID, start))
	if j.Status != runbooker.StatusCompleted || j.Schedule != "nightly" || j.CatchUp || j.Caller != "schedule nightly" {
		t.Fatalf("scheduled job: %s schedule %q catch-up %v caller %q", j.Status, j.Schedule, j.CatchUp, j.Caller)
	}

	// Down for three nights: the server comes back and fires once, late.
	cfg := s.m.Config
	s.stop()
	s.clock.Advance(3*24*time.Hour + 10*time.Minute)
	s.start(cfg)
	s.client, _ = rbhttp.NewClient(s.url, s.cred, nil)
	jobs()
	all := jobs()
	var catchUps int
	for _, j := range all {
		if j.CatchUp {
			catchUps++
		}
	}
	if len(all) != 2 || catchUps != 1 {
		t.Fatalf("%d jobs, %d catch-ups; want 2 and 1", len(all), catchUps)
	}
	got, err := s.client.Schedule(ctx, "nightly")
	if err != nil || !got.NextRun.Equal(start.Add(4*24*time.Hour)) {
		t.Fatalf("next run after catch-up %v (%v), want %v", got.NextRun, err, start.Add(4*24*time.Hour))
	}

	// A runbook the permissions document no longer lets be scheduled is
	// not started: the occurrence passes without a job.
	if err := s.client.PutSetting(ctx, "permissions", []byte(`{"SchedulingDisabledRunbookPatterns": ["org_general_report_*"]}`)); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(24 * time.Hour)
	if all := jobs(); len(all) != 2 {
		t.Fatalf("%d jobs after scheduling was disabled, want still 2", len(all))
	}
	if got, err := s.client.Schedule(ctx, "nightly"); err != nil || !got.NextRun.Equal(start.Add(5*24*time.Hour)) {
		t.Fatalf("next run after a refused occurrence %v (%v)", got.NextRun, err)
	}
	if err := s.client.PutSetting(ctx, "permissions", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	// The CLI goes through the same API.
	if code, out, errs := s.cli("schedule", "list"); code != 0 || !strings.Contains(out, "nightly") || !strings.Contains(out, "Monthly") {
		t.Fatalf("schedule list: %d %q %q", code, out, errs)
	}
	if code, out, errs := s.cli("schedule", "set", "fridays", "--start", start.Format(time.RFC3339), "--frequency", "Month",
		"--occurrences", "Last:Friday", "--time-zone", "America/New_York"); code != 0 || !strings.Contains(out, "Last Friday") {
		t.Fatalf("schedule set: %d %q %q", code, out, errs)
	}
	if code, out, errs := s.cli("schedule", "link", "fridays", "org_general_report_scheduled", "-p", "Count=2"); code != 0 || !strings.Contains(out, "next ") {
		t.Fatalf("schedule link: %d %q %q", code, out, errs)
	}
	if code, out, errs := s.cli("schedule", "get", "fridays"); code != 0 || !strings.Contains(out, "org_general_report_scheduled") {
		t.Fatalf("schedule get: %d %q %q", code, out, errs)
	}
	if code, _, errs := s.cli("schedule", "unlink", js.ID); code != 0 {
		t.Fatalf("schedule unlink: %d %q", code, errs)
	}
	if code, _, errs := s.cli("schedule", "delete", "fridays"); code != 0 {
		t.Fatalf("schedule delete: %d %q", code, errs)
	}
	if jss, err := s.client.JobSchedules(ctx, ""); err != nil || len(jss) != 0 {
		t.Fatalf("job schedules left: %v %v", jss, err)
	}
}

// Two servers (two Mains on one clock) sharing one PostgreSQL database
// fire each of 500 occurrences exactly once: both their own loops and
// passes the test makes on both at once race for every occurrence. The
// jobs go to a group without workers, so nothing runs them.
func TestScheduleTwoServersOnePostgresFireEachOccurrenceOnce(t *testing.T) {
	pgtest.Require(t)
	url := pgtest.Database(t)
	key := filepath.Join(t.TempDir(), "master.key")
	a := startServer(t, func(c *ServeConfig) { c.DB, c.MasterKeyFile, c.Retention = url, key, 365*24*time.Hour })
	cfg := a.m.Config
	cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	b := &server{t: t, clock: a.clock}
	b.start(cfg)
	t.Cleanup(b.stop)
	ctx := context.Background()
	a.put("org_general_tick_scheduled", runbooker.LangBash, scheduledScript)
	if _, err := a.client.CreateGroup(ctx, rbhttp.GroupView{Name: "parked"}); err != nil {
		t.Fatal(err)
	}
	start := a.clock.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	if _, err := a.client.PutSchedule(ctx, runbooker.Schedule{Name: "tick", Frequency: "Hour", Interval: 1, StartTime: start, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	js, err := a.client.Link(ctx, rbhttp.LinkRequest{ScheduleName: "tick", RunbookName: "org_general_tick_scheduled",
		Parameters: map[string]any{"Count": 1}, RunOn: "parked"})
	if err != nil {
		t.Fatal(err)
	}
	const occurrences = 500
	var fired [2]int
	a.clock.Advance(time.Minute)
	for range occurrences {
		var wg sync.WaitGroup
		for i, s := range []*server{a, b} {
			wg.Go(func() {
				n, err := s.m.Engine.FireSchedules(ctx)
				if err != nil {
					t.Error(err)
				}
				fired[i] += n
			})
		}
		wg.Wait()
		a.clock.Advance(time.Hour)
	}
	// Whatever the servers' own loops fired is in the store too: count there.
	seen := map[string]bool{}
	f := runbooker.JobFilter{Limit: 1000, RunbookName: "org_general_tick_scheduled"}
	for {
		page, err := a.m.Engine.Store().ListJobs(ctx, runbooker.DefaultTenant, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Jobs {
			if seen[j.ID] {
				t.Fatalf("job %s listed twice", j.ID)
			}
			seen[j.ID] = true
		}
		if f.Cursor = page.Next; f.Cursor == "" {
			break
		}
	}
	for k := range occurrences {
		if !seen[runbooker.ScheduledJobID(js.ID, start.Add(time.Duration(k)*time.Hour))] {
			t.Fatalf("occurrence %d has no job", k)
		}
	}
	// The test's last pass may have been followed by one of a loop's for
	// the occurrence the final Advance made due; nothing else.
	if len(seen) != occurrences && len(seen) != occurrences+1 {
		t.Fatalf("%d jobs for %d occurrences", len(seen), occurrences)
	}
	t.Logf("test passes fired %d on server a, %d on b; %d jobs in all", fired[0], fired[1], len(seen))
}
