package storetest

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// Schedules are kept per tenant by name with their recurrence; job
// schedules need their schedule and go with it; a job keeps the schedule
// that started it.
func testSchedules(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	start := time.Date(2026, 1, 30, 17, 0, 0, 0, time.UTC)
	sc := &runbooker.Schedule{TenantID: tenantA, Name: "Monthly", Description: "last Friday", StartTime: start,
		Frequency: "Month", Interval: 1, TimeZone: "Europe/Berlin", Enabled: true,
		MonthlyOccurrences: []runbooker.ScheduleOccurrence{{Occurrence: "Last", Day: "Friday"}}}
	ok(t, s.PutSchedule(ctx, sc), "PutSchedule")
	ok(t, s.PutSchedule(ctx, &runbooker.Schedule{TenantID: tenantA, Name: "Weekly", StartTime: start, Frequency: "Week",
		Interval: 2, WeekDays: []string{"Monday", "Friday"}, ExpiryTime: start.AddDate(1, 0, 0)}), "PutSchedule Weekly")
	got, err := s.Schedule(ctx, tenantA, "Monthly")
	ok(t, err, "Schedule")
	if got.Description != "last Friday" || !got.StartTime.Equal(start) || got.Frequency != "Month" || !got.Enabled ||
		len(got.MonthlyOccurrences) != 1 || got.MonthlyOccurrences[0].Day != "Friday" || got.TimeZone != "Europe/Berlin" || got.CreatedAt.IsZero() {
		t.Errorf("Schedule read back: %+v", got)
	}
	w, err := s.Schedule(ctx, tenantA, "Weekly")
	ok(t, err, "Schedule Weekly")
	if !slices.Equal(w.WeekDays, []string{"Monday", "Friday"}) || w.Interval != 2 || !w.ExpiryTime.Equal(start.AddDate(1, 0, 0)) || w.Enabled {
		t.Errorf("Weekly read back: %+v", w)
	}
	_, err = s.Schedule(ctx, tenantB, "Monthly")
	wantCode(t, err, runbooker.ENOTFOUND, "another tenant's schedule")
	list, err := s.ListSchedules(ctx, tenantA)
	ok(t, err, "ListSchedules")
	if len(list) != 2 || list[0].Name != "Monthly" || list[1].Name != "Weekly" {
		t.Errorf("ListSchedules: %+v", list)
	}

	next := start.Add(time.Hour)
	js := &runbooker.JobSchedule{ID: runbooker.NewUUID(), TenantID: tenantA, ScheduleName: "Monthly",
		RunbookName: "rjgit-user_x_scheduled", Parameters: map[string]any{"Count": int64(7)}, RunOn: "cloud", NextRunAt: next, CreatedBy: "alice"}
	ok(t, s.PutJobSchedule(ctx, js), "PutJobSchedule")
	wantCode(t, s.PutJobSchedule(ctx, &runbooker.JobSchedule{ID: runbooker.NewUUID(), TenantID: tenantB, ScheduleName: "Monthly",
		RunbookName: "x"}), runbooker.ENOTFOUND, "PutJobSchedule on another tenant's schedule")
	gj, err := s.JobSchedule(ctx, tenantA, js.ID)
	ok(t, err, "JobSchedule")
	if gj.Parameters["Count"] != int64(7) || !gj.NextRunAt.Equal(next) || gj.RunOn != "cloud" || gj.CreatedBy != "alice" {
		t.Errorf("JobSchedule read back: %+v", gj)
	}
	jl, err := s.ListJobSchedules(ctx, tenantA, "Weekly")
	ok(t, err, "ListJobSchedules Weekly")
	if len(jl) != 0 {
		t.Errorf("ListJobSchedules Weekly: %+v", jl)
	}
	jl, err = s.ListJobSchedules(ctx, tenantA, "")
	ok(t, err, "ListJobSchedules")
	if len(jl) != 1 {
		t.Errorf("ListJobSchedules: %+v", jl)
	}

	j := newJob(tenantA, "cloud", start)
	j.Schedule, j.CatchUp = "Monthly", true
	ok(t, s.CreateJob(ctx, j), "CreateJob scheduled")
	back, err := s.Job(ctx, tenantA, j.ID)
	ok(t, err, "Job")
	if back.Schedule != "Monthly" || !back.CatchUp {
		t.Errorf("scheduled job read back: schedule %q catch-up %v", back.Schedule, back.CatchUp)
	}
	wantCode(t, s.CreateJob(ctx, j), runbooker.ECONFLICT, "the same job id twice")

	ok(t, s.DeleteSchedule(ctx, tenantA, "Monthly"), "DeleteSchedule")
	_, err = s.JobSchedule(ctx, tenantA, js.ID)
	wantCode(t, err, runbooker.ENOTFOUND, "job schedule of a deleted schedule")
	wantCode(t, s.DeleteSchedule(ctx, tenantA, "Monthly"), runbooker.ENOTFOUND, "DeleteSchedule twice")
}

// AdvanceJobSchedule is a compare-and-set: of many concurrent callers
// moving the same occurrence on, exactly one wins; DueJobSchedules sees
// only enabled schedules' due rows.
func testJobSchedulesAdvance(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ok(t, s.PutSchedule(ctx, &runbooker.Schedule{TenantID: tenantA, Name: "on", StartTime: start, Frequency: "Hour", Interval: 1, Enabled: true}), "PutSchedule")
	ok(t, s.PutSchedule(ctx, &runbooker.Schedule{TenantID: tenantA, Name: "off", StartTime: start, Frequency: "Hour", Interval: 1}), "PutSchedule")
	on := &runbooker.JobSchedule{ID: runbooker.NewUUID(), TenantID: tenantA, ScheduleName: "on", RunbookName: "a", NextRunAt: start}
	off := &runbooker.JobSchedule{ID: runbooker.NewUUID(), TenantID: tenantA, ScheduleName: "off", RunbookName: "a", NextRunAt: start}
	later := &runbooker.JobSchedule{ID: runbooker.NewUUID(), TenantID: tenantA, ScheduleName: "on", RunbookName: "b", NextRunAt: start.Add(2 * time.Hour)}
	for _, js := range []*runbooker.JobSchedule{on, off, later} {
		ok(t, s.PutJobSchedule(ctx, js), "PutJobSchedule")
	}
	due, err := s.DueJobSchedules(ctx, start.Add(time.Minute), 10)
	ok(t, err, "DueJobSchedules")
	if len(due) != 1 || due[0].ID != on.ID {
		t.Fatalf("DueJobSchedules: %+v", due)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			won, err := s.AdvanceJobSchedule(ctx, runbooker.AdvanceParams{TenantID: tenantA, ID: on.ID, From: start, To: start.Add(time.Hour)})
			if err != nil {
				t.Errorf("AdvanceJobSchedule: %v", err)
			}
			if won {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d callers won the same occurrence, want 1", wins.Load())
	}
	won, err := s.AdvanceJobSchedule(ctx, runbooker.AdvanceParams{TenantID: tenantA, ID: on.ID, From: start.Add(time.Hour)})
	if err != nil || !won {
		t.Errorf("advance to none: %v %v", won, err)
	}
	gj, err := s.JobSchedule(ctx, tenantA, on.ID)
	ok(t, err, "JobSchedule")
	if !gj.NextRunAt.IsZero() {
		t.Errorf("NextRunAt after the last occurrence: %v", gj.NextRunAt)
	}
	if due, _ := s.DueJobSchedules(ctx, start.Add(10*time.Hour), 10); len(due) != 1 || due[0].ID != later.ID {
		t.Errorf("DueJobSchedules later: %+v", due)
	}
}
