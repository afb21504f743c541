package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// PutSchedule implements runbooker.ScheduleStore.
func (db *DB) PutSchedule(ctx context.Context, s *runbooker.Schedule) error {
	rec, err := storeutil.EncodeRecurrence(s)
	if err != nil {
		return err
	}
	now := db.now()
	_, err = db.pool.Exec(ctx, `INSERT INTO schedules (`+storeutil.ScheduleColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
		ON CONFLICT (tenant_id, name) DO UPDATE SET description = excluded.description,
			start_time = excluded.start_time, expiry_time = excluded.expiry_time, recurrence = excluded.recurrence,
			enabled = excluded.enabled, last_modified_at = excluded.last_modified_at`,
		s.TenantID, s.Name, cleanText(s.Description), nanos(s.StartTime), nullNanos(s.ExpiryTime), rec, s.Enabled, nanos(now))
	return storeErr(err, fmt.Sprintf("schedule %q", s.Name))
}

// Schedule implements runbooker.ScheduleStore.
func (db *DB) Schedule(ctx context.Context, tenantID, name string) (*runbooker.Schedule, error) {
	s, err := scanSchedule(db.pool.QueryRow(ctx, `SELECT `+storeutil.ScheduleColumns+`
		FROM schedules WHERE tenant_id = $1 AND name = $2`, tenantID, name))
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("schedule %q", name))
	}
	return s, nil
}

// ListSchedules implements runbooker.ScheduleStore.
func (db *DB) ListSchedules(ctx context.Context, tenantID string) ([]runbooker.Schedule, error) {
	ps, err := list(ctx, db, scanSchedule, "schedules", `SELECT `+storeutil.ScheduleColumns+`
		FROM schedules WHERE tenant_id = $1 ORDER BY name`, tenantID)
	return deref(ps), err
}

// DeleteSchedule implements runbooker.ScheduleStore; the job schedules go
// with it (ON DELETE CASCADE).
func (db *DB) DeleteSchedule(ctx context.Context, tenantID, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM schedules WHERE tenant_id = $1 AND name = $2`, tenantID, name)
	return affected(tag.RowsAffected(), err, fmt.Sprintf("schedule %q", name))
}

// PutJobSchedule implements runbooker.ScheduleStore.
func (db *DB) PutJobSchedule(ctx context.Context, js *runbooker.JobSchedule) error {
	params, err := storeutil.CheckJobSchedule(js)
	if err != nil {
		return err
	}
	if js.CreatedAt.IsZero() {
		js.CreatedAt = db.now()
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO job_schedules (`+storeutil.JobScheduleColumns+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM schedules WHERE tenant_id = $2 AND name = $3)
		ON CONFLICT (id) DO UPDATE SET schedule_name = excluded.schedule_name, runbook_name = excluded.runbook_name,
			parameters = excluded.parameters, run_on = excluded.run_on, next_run_at = excluded.next_run_at
		WHERE job_schedules.tenant_id = excluded.tenant_id`,
		js.ID, js.TenantID, js.ScheduleName, js.RunbookName, params, js.RunOn, nullNanos(js.NextRunAt), js.CreatedBy,
		nanos(js.CreatedAt))
	return affected(tag.RowsAffected(), err, fmt.Sprintf("schedule %q", js.ScheduleName))
}

// JobSchedule implements runbooker.ScheduleStore.
func (db *DB) JobSchedule(ctx context.Context, tenantID, id string) (*runbooker.JobSchedule, error) {
	js, err := scanJobSchedule(db.pool.QueryRow(ctx, `SELECT `+storeutil.JobScheduleColumns+`
		FROM job_schedules WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("job schedule %s", id))
	}
	return js, nil
}

// ListJobSchedules implements runbooker.ScheduleStore.
func (db *DB) ListJobSchedules(ctx context.Context, tenantID, scheduleName string) ([]runbooker.JobSchedule, error) {
	ps, err := list(ctx, db, scanJobSchedule, "job schedules", `SELECT `+storeutil.JobScheduleColumns+`
		FROM job_schedules WHERE tenant_id = $1 AND ($2 = '' OR schedule_name = $2)
		ORDER BY schedule_name, runbook_name, id`, tenantID, scheduleName)
	return deref(ps), err
}

// DeleteJobSchedule implements runbooker.ScheduleStore.
func (db *DB) DeleteJobSchedule(ctx context.Context, tenantID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM job_schedules WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return affected(tag.RowsAffected(), err, fmt.Sprintf("job schedule %s", id))
}

// DueJobSchedules implements runbooker.ScheduleStore.
func (db *DB) DueJobSchedules(ctx context.Context, now time.Time, limit int) ([]runbooker.JobSchedule, error) {
	ps, err := list(ctx, db, scanJobSchedule, "job schedules", `SELECT `+qualified("j", storeutil.JobScheduleColumns)+`
		FROM job_schedules j JOIN schedules s ON s.tenant_id = j.tenant_id AND s.name = j.schedule_name
		WHERE j.next_run_at IS NOT NULL AND j.next_run_at <= $1 AND s.enabled
		ORDER BY j.next_run_at LIMIT $2`, nanos(now), limit)
	return deref(ps), err
}

// AdvanceJobSchedule implements runbooker.ScheduleStore: a compare-and-set
// on next_run_at, so that of several servers firing an occurrence one wins.
func (db *DB) AdvanceJobSchedule(ctx context.Context, p runbooker.AdvanceParams) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE job_schedules SET next_run_at = $1 WHERE tenant_id = $2 AND id = $3 AND next_run_at = $4`,
		nullNanos(p.To), p.TenantID, p.ID, nanos(p.From))
	if err != nil {
		return false, storeErr(err, fmt.Sprintf("job schedule %s", p.ID))
	}
	return tag.RowsAffected() == 1, nil
}

func scanSchedule(s scanner) (*runbooker.Schedule, error) {
	var sc runbooker.Schedule
	var start, created, modified int64
	var expiry *int64
	var rec string
	if err := s.Scan(&sc.TenantID, &sc.Name, &sc.Description, &start, &expiry, &rec, &sc.Enabled, &created, &modified); err != nil {
		return nil, err
	}
	sc.StartTime, sc.ExpiryTime = fromNanos(start), fromNullNanos(expiry)
	sc.CreatedAt, sc.LastModifiedAt = fromNanos(created), fromNanos(modified)
	return &sc, storeutil.DecodeRecurrence(&sc, rec)
}

func scanJobSchedule(s scanner) (*runbooker.JobSchedule, error) {
	var js runbooker.JobSchedule
	var params string
	var next *int64
	var created int64
	if err := s.Scan(&js.ID, &js.TenantID, &js.ScheduleName, &js.RunbookName, &params, &js.RunOn, &next,
		&js.CreatedBy, &created); err != nil {
		return nil, err
	}
	js.NextRunAt, js.CreatedAt = fromNullNanos(next), fromNanos(created)
	var err error
	js.Parameters, err = runbooker.DecodeParameters([]byte(params))
	return &js, err
}

func deref[T any](ps []*T) []T {
	out := make([]T, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p)
	}
	return out
}
