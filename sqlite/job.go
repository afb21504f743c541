package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// jobCols is the column list every job query selects, in scanJob's order.
const jobCols = `pk, id, tenant_id, runbook_name, runbook_version, language, parameters, run_on, caller,
	status, status_reason, exception, attempt, lost_count, worker_id,
	created_at, started_at, ended_at, last_modified_at, lease_expires_at, log_verbose, ` + storeutil.JobTargetColumns + `, schedule_name, catch_up`

// heldStatuses are the states in which an attempt holds a lease; fenced
// calls succeed only then.
const heldStatuses = `('Activating', 'Running', 'Stopping')`

const insertJobSQL = `INSERT INTO jobs (id, tenant_id, runbook_name, runbook_version, language, parameters,
	run_on, caller, status, status_reason, attempt, worker_id, created_at, last_modified_at, lease_expires_at, log_verbose,
	` + storeutil.JobTargetColumns + `, schedule_name, catch_up) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateJob implements runbooker.JobStore. The job is queued (New) with
// attempt and lost count 0, or handed to j.WorkerID (direct dispatch). An
// empty ID is filled with a new UUID and a zero CreatedAt with the current
// time; the stored values are written back to j.
func (db *DB) CreateJob(ctx context.Context, j *runbooker.Job) error {
	pj, err := storeutil.PrepareJob(j, db.now())
	if err != nil {
		return err
	}
	err = db.writeClean(ctx, func(ctx context.Context, tx querier) error {
		return db.insertJob(ctx, j, pj)
	})
	return storeErr(err, fmt.Sprintf("job %s", j.ID))
}

// insertJob stores a prepared job, pj being its parameters as JSON.
func (db *DB) insertJob(ctx context.Context, j *runbooker.Job, pj []byte) error {
	kind, id, name := storeutil.TargetArgs(j.Target)
	_, err := db.st.insertJob.ExecContext(ctx, j.ID, j.TenantID, j.RunbookName,
		j.RunbookVersion, string(j.Language), pj, j.RunOn, j.Caller, string(j.Status), j.StatusReason,
		j.Attempt, j.WorkerID, nanos(j.CreatedAt), nanos(j.CreatedAt), nullNanos(j.LeaseExpiresAt), j.LogVerbose, kind, id, name, j.Schedule, j.CatchUp)
	return err
}

// CreateJobs implements runbooker.JobStore: one transaction for all.
func (db *DB) CreateJobs(ctx context.Context, js []*runbooker.Job) error {
	pjs, err := storeutil.PrepareJobs(js, db.now())
	if err != nil || len(js) == 0 {
		return err
	}
	err = db.write(ctx, func(ctx context.Context, tx querier) error {
		for i, j := range js {
			if err := db.insertJob(ctx, j, pjs[i]); err != nil {
				return storeErr(err, fmt.Sprintf("job %s", j.ID))
			}
		}
		return nil
	})
	return err
}

// Job implements runbooker.JobStore.
func (db *DB) Job(ctx context.Context, tenantID, id string) (*runbooker.Job, error) {
	return getJob(ctx, db.rq, tenantID, id)
}

func getJob(ctx context.Context, q querier, tenantID, id string) (*runbooker.Job, error) {
	row := q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ? AND tenant_id = ?`, id, tenantID)
	j, _, err := scanJob(row)
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("job %s", id))
	}
	return j, nil
}

// ListJobs implements runbooker.JobStore. Jobs are ordered by CreatedAt,
// newest first, and then by insertion order, newest first; the cursor holds
// both, so pages neither skip nor repeat jobs with equal timestamps.
//
// Every filter field has an index that starts (tenant, field) and goes on
// in the listing order (0012_job_list.sql), so a page is a range of one
// index however long the history. Several statuses are one range each: a
// page of each, merged (UNION ALL), reads at most a page per status where
// status IN (…) would read and sort every matching job.
func (db *DB) ListJobs(ctx context.Context, tenantID string, f runbooker.JobFilter) (runbooker.JobPage, error) {
	var page runbooker.JobPage
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	statuses, err := listStatuses(f.Status)
	if err != nil {
		return page, err
	}
	var cond string
	var condArgs []any
	for _, c := range []struct{ col, val string }{{"runbook_name", f.RunbookName}, {"run_on", f.RunOn}, {"caller", f.Caller}} {
		if c.val != "" {
			cond += ` AND ` + c.col + ` = ?`
			condArgs = append(condArgs, c.val)
		}
	}
	if !f.CreatedAfter.IsZero() {
		cond += ` AND created_at > ?`
		condArgs = append(condArgs, nanos(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		cond += ` AND created_at < ?`
		condArgs = append(condArgs, nanos(f.CreatedBefore))
	}
	if f.Cursor != "" {
		at, pk, ok := storeutil.ParseCursor(f.Cursor)
		if !ok {
			return page, runbooker.Errorf(runbooker.EINVALID, "invalid job list cursor")
		}
		cond += ` AND (created_at, pk) < (?, ?)` // a row value: an index range, not a filter
		condArgs = append(condArgs, at, pk)
	}
	// One more than the page tells whether there is a next page.
	const order = ` ORDER BY created_at DESC, pk DESC LIMIT ?`
	var q string
	var args []any
	switch len(statuses) {
	case 0:
		q = `SELECT ` + jobCols + ` FROM jobs WHERE tenant_id = ?` + cond + order
		args = append(append([]any{tenantID}, condArgs...), limit+1)
	case 1:
		q = `SELECT ` + jobCols + ` FROM jobs WHERE tenant_id = ? AND status = ?` + cond + order
		args = append(append([]any{tenantID, statuses[0]}, condArgs...), limit+1)
	default:
		arms := make([]string, len(statuses))
		for i, st := range statuses {
			arms[i] = `SELECT * FROM (SELECT ` + jobCols + ` FROM jobs WHERE tenant_id = ? AND status = ?` + cond + order + `)`
			args = append(append(append(args, tenantID, st), condArgs...), limit+1)
		}
		q = `SELECT * FROM (` + strings.Join(arms, ` UNION ALL `) + `)` + order
		args = append(args, limit+1)
	}
	rows, err := db.rq.QueryContext(ctx, q, args...)
	if err != nil {
		return page, storeErr(err, "jobs")
	}
	defer rows.Close()
	page.Jobs = []*runbooker.Job{}
	var lastPK int64
	for rows.Next() {
		j, pk, err := scanJob(rows)
		if err != nil {
			return page, storeErr(err, "jobs")
		}
		if len(page.Jobs) == limit {
			last := page.Jobs[len(page.Jobs)-1]
			page.Next = storeutil.FormatCursor(nanos(last.CreatedAt), lastPK)
			break
		}
		page.Jobs = append(page.Jobs, j)
		lastPK = pk
	}
	return page, storeErr(rows.Err(), "jobs")
}

// listStatuses checks a listing's statuses and returns each once.
func listStatuses(ss []runbooker.JobStatus) ([]any, error) {
	var out []any
	seen := map[runbooker.JobStatus]bool{}
	for _, s := range ss {
		if !s.Valid() {
			return nil, runbooker.Errorf(runbooker.EINVALID, "unknown job status %q", s)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, string(s))
		}
	}
	return out, nil
}

// RequestStop implements runbooker.JobStore.
func (db *DB) RequestStop(ctx context.Context, tenantID, id string, now time.Time) (*runbooker.Job, error) {
	var j *runbooker.Job
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET
			status = CASE WHEN status IN ('New', 'Suspended') THEN 'Stopped' ELSE 'Stopping' END,
			ended_at = CASE WHEN status IN ('New', 'Suspended') THEN ?1 ELSE ended_at END,
			lease_expires_at = CASE WHEN status IN ('New', 'Suspended') THEN NULL ELSE lease_expires_at END,
			last_modified_at = ?1
			WHERE id = ?2 AND tenant_id = ?3 AND status IN ('New', 'Suspended', 'Activating', 'Running')`,
			nanos(now), id, tenantID)
		if err != nil {
			return storeErr(err, fmt.Sprintf("job %s", id))
		}
		j, err = getJob(ctx, tx, tenantID, id)
		return err
	})
	return j, err
}

// ResumeJob implements runbooker.JobStore. The job is queued again with its
// lost count reset; its attempt grows with the next claim as usual.
func (db *DB) ResumeJob(ctx context.Context, tenantID, id string, now time.Time) (*runbooker.Job, error) {
	var j *runbooker.Job
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		cur, err := getJob(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if cur.Status != runbooker.StatusSuspended {
			return runbooker.Errorf(runbooker.EINVALID, "job %s is %s; only a Suspended job can be resumed", id, cur.Status)
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = 'New', lost_count = 0, status_reason = '',
			worker_id = '', lease_expires_at = NULL, last_modified_at = ? WHERE id = ?`, nanos(now), id)
		if err != nil {
			return storeErr(err, fmt.Sprintf("job %s", id))
		}
		j, err = getJob(ctx, tx, tenantID, id)
		return err
	})
	return j, err
}

// scanJob reads the columns of jobCols, then any extra ones into extra.
func scanJob(s scanner, extra ...any) (*runbooker.Job, int64, error) {
	var j runbooker.Job
	var pk, created, modified int64
	var started, ended, lease sql.NullInt64
	var lang, params, status string
	var tKind, tID, tName *string
	dest := append([]any{&pk, &j.ID, &j.TenantID, &j.RunbookName, &j.RunbookVersion, &lang, &params, &j.RunOn,
		&j.Caller, &status, &j.StatusReason, &j.Exception, &j.Attempt, &j.LostCount, &j.WorkerID,
		&created, &started, &ended, &modified, &lease, &j.LogVerbose, &tKind, &tID, &tName, &j.Schedule, &j.CatchUp}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, 0, err
	}
	j.Language, j.Status = runbooker.Language(lang), runbooker.JobStatus(status)
	j.CreatedAt, j.LastModifiedAt = fromNanos(created), fromNanos(modified)
	j.StartedAt, j.EndedAt, j.LeaseExpiresAt = fromNullNanos(started), fromNullNanos(ended), fromNullNanos(lease)
	bound, err := runbooker.DecodeParameters([]byte(params))
	if err != nil {
		return nil, 0, fmt.Errorf("job %s: stored parameters: %w", j.ID, err)
	}
	j.Parameters = bound
	j.Target = storeutil.JobTarget(tKind, tID, tName)
	return &j, pk, nil
}
