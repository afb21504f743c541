package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// jobCols is the column list every job query selects, in scanJob's order.
const jobCols = `pk, id, tenant_id, runbook_name, runbook_version, language, parameters, run_on, caller,
	status, status_reason, exception, attempt, lost_count, worker_id,
	created_at, started_at, ended_at, last_modified_at, lease_expires_at, log_verbose, ` + storeutil.JobTargetColumns + `, schedule_name, catch_up`

// qualifiedJobCols is jobCols of the jobs table aliased j, for queries
// that join it.
var qualifiedJobCols = func() string {
	cols := strings.Split(jobCols, ",")
	for i, c := range cols {
		cols[i] = "j." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// heldStatuses are the states in which an attempt holds a lease; fenced
// calls succeed only then.
const heldStatuses = `('Activating', 'Running', 'Stopping')`

// CreateJob implements runbooker.JobStore. The job is queued (New) with
// attempt and lost count 0, or handed to j.WorkerID (direct dispatch):
// Activating, attempt 1, leased until j.LeaseExpiresAt. An empty ID is
// filled with a new UUID and a zero CreatedAt with the current time; the
// stored values are written back to j.
func (db *DB) CreateJob(ctx context.Context, j *runbooker.Job) error {
	pj, err := storeutil.PrepareJob(j, db.now())
	if err != nil {
		return err
	}
	_, err = db.creates.do(ctx, newJob{j: j, params: cleanText(string(pj))})
	return err
}

// CreateJobLazily implements runbooker.LazyStore: CreateJob committed
// without waiting for the WAL flush, for a synchronous run whose caller
// hears of the job only once a later durable commit (its finish, or Flush)
// has flushed the creation with it. It costs no flush, so it is not
// batched.
func (db *DB) CreateJobLazily(ctx context.Context, j *runbooker.Job) error {
	pj, err := storeutil.PrepareJob(j, db.now())
	if err != nil {
		return err
	}
	return db.insertJob(ctx, newJob{j: j, params: cleanText(string(pj)), lazy: true})
}

// Flush implements runbooker.LazyStore. A commit waits for the WAL flush
// only when its transaction took a transaction id and wrote WAL before its
// commit record (taking an id alone, as txid_current does, commits
// without waiting); a transactional logical message does both, writes a
// few bytes, and needs no table. Once it returns, the WAL is flushed past
// it, so every commit before it is durable.
func (db *DB) Flush(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, `SELECT pg_logical_emit_message(true, 'runbooker.flush', '')`)
	return storeErr(err, "a flush of the write-ahead log")
}

// CreateJobs implements runbooker.JobStore in one statement.
func (db *DB) CreateJobs(ctx context.Context, js []*runbooker.Job) error {
	pjs, err := storeutil.PrepareJobs(js, db.now())
	if err != nil || len(js) == 0 {
		return err
	}
	params := make([]string, len(js))
	for i, pj := range pjs {
		params[i] = cleanText(string(pj))
	}
	if err := db.insertMany(ctx, js, params); err != nil {
		return storeErr(err, batchObject(err, len(js)))
	}
	return nil
}

// batchObject names what a refused batch insert was refused for: the job
// whose id is taken, as PostgreSQL's detail gives it ("Key (id)=(…)
// already exists."), else the batch.
func batchObject(err error, n int) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		if _, rest, ok := strings.Cut(pe.Detail, "(id)=("); ok {
			if id, _, ok := strings.Cut(rest, ")"); ok {
				return fmt.Sprintf("job %s of the batch", id)
			}
		}
		return fmt.Sprintf("a job id of the batch of %d", n)
	}
	return fmt.Sprintf("a batch of %d jobs", n)
}

// Job implements runbooker.JobStore.
func (db *DB) Job(ctx context.Context, tenantID, id string) (*runbooker.Job, error) {
	return getJob(ctx, db.pool, tenantID, id)
}

// querier is what the pool, a connection and a transaction have in common.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getJob(ctx context.Context, q querier, tenantID, id string) (*runbooker.Job, error) {
	j, _, err := scanJob(q.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1 AND tenant_id = $2`, id, tenantID))
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
// (created_at, pk): status on jobs (0011_job_list.sql), the fields that
// never change on job_index (0012_job_index.sql), so a page is a range of
// one index however long the history. Several statuses are one range each:
// a page of each, merged (UNION ALL), reads at most a page per status where
// status = ANY(…) would read and sort every matching job.
func (db *DB) ListJobs(ctx context.Context, tenantID string, f runbooker.JobFilter) (runbooker.JobPage, error) {
	var page runbooker.JobPage
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var statuses []string
	seen := map[runbooker.JobStatus]bool{}
	for _, s := range f.Status {
		if !s.Valid() {
			return page, runbooker.Errorf(runbooker.EINVALID, "unknown job status %q", s)
		}
		if !seen[s] {
			seen[s] = true
			statuses = append(statuses, string(s))
		}
	}
	args := []any{tenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// A status alone is a range of jobs_tenant_status. Any other filter,
	// or none, walks job_index (runbook, group, caller, or the whole
	// tenant), reading each job by pk and checking its status there.
	var listed []string
	for _, c := range []struct{ col, val string }{{"runbook_name", f.RunbookName}, {"run_on", f.RunOn}, {"caller", f.Caller}} {
		if c.val != "" {
			listed = append(listed, c.col+` = `+arg(c.val))
		}
	}
	viaIndex := len(listed) > 0 || len(statuses) == 0
	from, x, status, cols := ` FROM jobs WHERE tenant_id = $1`, "", `status`, jobCols
	if viaIndex {
		from, x, status, cols = ` FROM job_index x JOIN jobs j ON j.pk = x.pk WHERE x.tenant_id = $1`, "x.", `j.status`, qualifiedJobCols
	}
	var cond string
	for _, l := range listed {
		cond += ` AND ` + x + l
	}
	if !f.CreatedAfter.IsZero() {
		cond += ` AND ` + x + `created_at > ` + arg(nanos(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		cond += ` AND ` + x + `created_at < ` + arg(nanos(f.CreatedBefore))
	}
	if f.Cursor != "" {
		at, pk, ok := storeutil.ParseCursor(f.Cursor)
		if !ok {
			return page, runbooker.Errorf(runbooker.EINVALID, "invalid job list cursor")
		}
		// A row value: an index range on (tenant_id, …, created_at, pk).
		cond += ` AND (` + x + `created_at, ` + x + `pk) < (` + arg(at) + `, ` + arg(pk) + `)`
	}
	// One more than the page tells whether there is a next page. The limit
	// is written into the statement (see literalLimit, postgres/db.go).
	limitSQL := literalLimit(limit + 1)
	order := ` ORDER BY ` + x + `created_at DESC, ` + x + `pk DESC LIMIT ` + limitSQL
	var q string
	switch len(statuses) {
	case 0:
		q = `SELECT ` + cols + from + cond + order
	case 1:
		q = `SELECT ` + cols + from + ` AND ` + status + ` = ` + arg(statuses[0]) + cond + order
	default:
		arms := make([]string, len(statuses))
		for i, st := range statuses {
			arms[i] = `(SELECT ` + cols + from + ` AND ` + status + ` = ` + arg(st) + cond + order + `)`
		}
		q = strings.Join(arms, ` UNION ALL `) + ` ORDER BY created_at DESC, pk DESC LIMIT ` + limitSQL
	}
	rows, err := db.pool.Query(ctx, q, args...)
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

// RequestStop implements runbooker.JobStore: one statement, so a stop and a
// claim, finish or rescue of the same job apply one after the other.
func (db *DB) RequestStop(ctx context.Context, tenantID, id string, now time.Time) (*runbooker.Job, error) {
	j, _, err := scanJob(db.pool.QueryRow(ctx, `UPDATE jobs SET
		status = CASE WHEN status IN ('New', 'Suspended') THEN 'Stopped' ELSE 'Stopping' END,
		ended_at = CASE WHEN status IN ('New', 'Suspended') THEN $1 ELSE ended_at END,
		lease_expires_at = CASE WHEN status IN ('New', 'Suspended') THEN NULL ELSE lease_expires_at END,
		last_modified_at = $1
		WHERE id = $2 AND tenant_id = $3 AND status IN ('New', 'Suspended', 'Activating', 'Running')
		RETURNING `+jobCols, nanos(now), id, tenantID))
	if errors.Is(err, pgx.ErrNoRows) {
		return getJob(ctx, db.pool, tenantID, id) // already stopping or ended: as it is
	}
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("job %s", id))
	}
	return j, nil
}

// ResumeJob implements runbooker.JobStore. The job is queued again with its
// lost count reset; its attempt grows with the next claim as usual.
func (db *DB) ResumeJob(ctx context.Context, tenantID, id string, now time.Time) (*runbooker.Job, error) {
	j, _, err := scanJob(db.pool.QueryRow(ctx, `UPDATE jobs SET status = 'New', lost_count = 0, status_reason = '',
		worker_id = '', lease_expires_at = NULL, last_modified_at = $1
		WHERE id = $2 AND tenant_id = $3 AND status = 'Suspended' RETURNING `+jobCols, nanos(now), id, tenantID))
	if errors.Is(err, pgx.ErrNoRows) {
		cur, err := getJob(ctx, db.pool, tenantID, id)
		if err != nil {
			return nil, err
		}
		return nil, runbooker.Errorf(runbooker.EINVALID, "job %s is %s; only a Suspended job can be resumed", id, cur.Status)
	}
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("job %s", id))
	}
	return j, nil
}

// scanJob reads the columns of jobCols, then any extra ones into extra.
func scanJob(s scanner, extra ...any) (*runbooker.Job, int64, error) {
	// One allocation for every scan target (each local whose address Scan
	// takes would be an allocation of its own).
	r := &struct {
		j                     runbooker.Job
		pk, created, modified int64
		started, ended, lease *int64
		lang, params, status  string
		attempt, lost         int32
		tKind, tID, tName     *string
		dest                  [28]any // room for two extra targets
	}{}
	j := &r.j
	r.dest = [28]any{&r.pk, &j.ID, &j.TenantID, &j.RunbookName, &j.RunbookVersion, &r.lang, &r.params, &j.RunOn,
		&j.Caller, &r.status, &j.StatusReason, &j.Exception, &r.attempt, &r.lost, &j.WorkerID,
		&r.created, &r.started, &r.ended, &r.modified, &r.lease, &j.LogVerbose, &r.tKind, &r.tID, &r.tName, &j.Schedule, &j.CatchUp}
	dest := append(r.dest[:26], extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, 0, err
	}
	pk, created, modified := r.pk, r.created, r.modified
	started, ended, lease := r.started, r.ended, r.lease
	lang, params, status := r.lang, r.params, r.status
	attempt, lost := r.attempt, r.lost
	tKind, tID, tName := r.tKind, r.tID, r.tName
	j.Attempt, j.LostCount = int(attempt), int(lost)
	j.Language, j.Status = runbooker.Language(lang), runbooker.JobStatus(status)
	j.CreatedAt, j.LastModifiedAt = fromNanos(created), fromNanos(modified)
	j.StartedAt, j.EndedAt, j.LeaseExpiresAt = fromNullNanos(started), fromNullNanos(ended), fromNullNanos(lease)
	bound, err := runbooker.DecodeParameters([]byte(params))
	if err != nil {
		return nil, 0, fmt.Errorf("job %s: stored parameters: %w", j.ID, err)
	}
	j.Parameters = bound
	j.Target = storeutil.JobTarget(tKind, tID, tName)
	out := *j // not a pointer into r: a kept job would keep the scan targets
	return &out, pk, nil
}
