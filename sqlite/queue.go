package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// claimSQL reads the oldest New jobs of a group, the ones a claim takes,
// with each job's NextSeq as the last column; claimMarkSQL then moves each
// to Activating by its row id. Reading first and updating by row id is
// cheaper than UPDATE … RETURNING, which makes SQLite buffer the result in
// a temporary table; both run in one write transaction of the single
// writer, so no other claim comes between. The first %s names the index,
// one that holds New jobs only (queueIndex), the second is the conditions
// after the group's: the tenant (?3) where the index starts with it, the
// languages.
const claimSQL = `SELECT ` + jobCols + `, (SELECT coalesce(max(seq), 0) + 1 FROM stream_records WHERE job_pk = jobs.pk)
	FROM jobs WHERE pk IN (SELECT pk FROM jobs INDEXED BY %s WHERE status = 'New' AND run_on = ?1 %s
		ORDER BY created_at, pk LIMIT ?2)`

// queueIndex is the index a claim reads, named in the statement: left to
// itself the planner took a listing index for a tenant's claim and walked
// the group's history (migration 0013).
func queueIndex(tenant bool) string {
	if tenant {
		return "jobs_queue_tenant"
	}
	return "jobs_queue"
}

const claimMarkSQL = `UPDATE jobs SET status = 'Activating', attempt = attempt + 1, worker_id = ?1,
	lease_expires_at = ?2, last_modified_at = ?3, status_reason = '' WHERE pk = ?4`

// claimLanguagesSQL is claimSQL for a claim limited to some languages; it
// appends their arguments to args.
func claimLanguagesSQL(p runbooker.ClaimParams, args *[]any) string {
	cond := ""
	if p.TenantID != "" {
		cond = "AND tenant_id = ?3 "
	}
	marks := []string{}
	for _, l := range p.Languages {
		*args = append(*args, string(l))
		marks = append(marks, fmt.Sprintf("?%d", len(*args)))
	}
	return fmt.Sprintf(claimSQL, queueIndex(cond != ""), cond+"AND language IN ("+strings.Join(marks, ", ")+")")
}

const startSQL = `UPDATE jobs SET status = 'Running', started_at = ?1, last_modified_at = ?1
	WHERE id = ?2 AND attempt = ?3 AND status = 'Activating'`

// finishSQL ends the attempt FinishJob has just read and checked. Reading
// first and updating by row id is cheaper than UPDATE … RETURNING, which
// makes SQLite buffer the result in a temporary table.
const finishSQL = `UPDATE jobs SET status = ?1, exception = ?2, ended_at = ?3, last_modified_at = ?3,
	lease_expires_at = NULL, started_at = coalesce(started_at, ?4) WHERE pk = ?5`

const jobByIDSQL = `SELECT ` + jobCols + ` FROM jobs WHERE id = ?`

// ClaimJobs implements runbooker.JobStore. Jobs are returned oldest first.
func (db *DB) ClaimJobs(ctx context.Context, p runbooker.ClaimParams) ([]*runbooker.Job, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	if err := storeutil.CheckClaim(p); err != nil {
		return nil, err
	}
	var cs []claimed
	err := db.writeClean(ctx, func(ctx context.Context, tx querier) error {
		var err error
		cs, err = db.claimIn(ctx, tx, p, cs[:0])
		return err
	})
	if err != nil {
		return nil, storeErr(err, "job claim")
	}
	return oldestFirst(cs), nil
}

// claimed is a job a claim took, with its row id.
type claimed struct {
	j  *runbooker.Job
	pk int64
}

// claimIn claims in the writer's transaction tx, appending to cs. A failure
// after the first update is dirty.
func (db *DB) claimIn(ctx context.Context, tx querier, p runbooker.ClaimParams, cs []claimed) ([]claimed, error) {
	st, args := db.st.claim, []any{p.Group, p.Limit}
	if p.TenantID != "" {
		st, args = db.st.claimTenant, append(args, p.TenantID)
	}
	var rows *sql.Rows
	var err error
	if p.Languages != nil && len(p.Languages) == 0 {
		return cs, nil // a claimer without interpreters takes nothing
	}
	if p.Languages != nil {
		// A worker without some interpreter (the built-in one where pwsh
		// is missing): prepared once per distinct statement by tx's cache.
		rows, err = tx.QueryContext(ctx, claimLanguagesSQL(p, &args), args...)
	} else {
		rows, err = st.QueryContext(ctx, args...)
	}
	if err != nil {
		return cs, err
	}
	first := len(cs)
	for rows.Next() {
		var next int64
		j, pk, err := scanJob(rows, &next)
		if err != nil {
			rows.Close()
			return cs, err
		}
		j.NextSeq = next
		cs = append(cs, claimed{j, pk})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return cs, err
	}
	lease, now := nanos(p.LeaseUntil), nanos(p.Now)
	for i, c := range cs[first:] {
		if _, err := db.st.claimMark.ExecContext(ctx, p.WorkerID, lease, now, c.pk); err != nil {
			if i == 0 {
				return cs[:first], err // nothing written yet: clean
			}
			return cs[:first], dirty(err)
		}
		j := c.j
		j.Status, j.Attempt, j.WorkerID, j.StatusReason = runbooker.StatusActivating, j.Attempt+1, p.WorkerID, ""
		j.LeaseExpiresAt, j.LastModifiedAt = fromNanos(lease), fromNanos(now)
	}
	return cs, nil
}

// oldestFirst returns the claimed jobs in queue order.
func oldestFirst(cs []claimed) []*runbooker.Job {
	sort.Slice(cs, func(a, b int) bool {
		if !cs[a].j.CreatedAt.Equal(cs[b].j.CreatedAt) {
			return cs[a].j.CreatedAt.Before(cs[b].j.CreatedAt)
		}
		return cs[a].pk < cs[b].pk
	})
	out := make([]*runbooker.Job, len(cs))
	for i, c := range cs {
		out[i] = c.j
	}
	return out
}

// StartJob implements runbooker.JobStore. Starting an attempt that is
// already Running is a retried delivery and succeeds. An attempt asked to
// stop while Activating stays Stopping (the worker learns it at its next
// heartbeat) and the call succeeds.
func (db *DB) StartJob(ctx context.Context, ref runbooker.JobRef, now time.Time) error {
	return db.writeClean(ctx, func(ctx context.Context, tx querier) error {
		res, err := db.st.start.ExecContext(ctx, nanos(now), ref.ID, ref.Attempt)
		if err != nil {
			return storeErr(err, fmt.Sprintf("job %s", ref.ID))
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		status, attempt, err := jobState(ctx, tx, ref.ID)
		if err != nil {
			return err
		}
		switch {
		case attempt == ref.Attempt && status == runbooker.StatusRunning:
			return nil
		case attempt == ref.Attempt && status == runbooker.StatusStopping:
			_, err := tx.ExecContext(ctx, `UPDATE jobs SET started_at = ? WHERE id = ? AND started_at IS NULL`,
				nanos(now), ref.ID)
			return storeErr(err, fmt.Sprintf("job %s", ref.ID)) // a single statement: clean
		}
		return storeutil.Fenced(ref, status, attempt)
	})
}

// ExtendLeases implements runbooker.JobStore. An attempt is held, and its
// lease extended, only while it is the job's current attempt, the job is
// Activating, Running or Stopping, and p.WorkerID claimed it; otherwise it
// is reported Lost. An unknown job is Lost with an empty status.
func (db *DB) ExtendLeases(ctx context.Context, p runbooker.LeaseParams) ([]runbooker.LeaseState, error) {
	out := make([]runbooker.LeaseState, len(p.Refs))
	// Every failure here is a database error after earlier extensions: dirty.
	err := db.writeClean(ctx, func(ctx context.Context, tx querier) error {
		ext := db.st.extend
		for i, ref := range p.Refs {
			out[i] = runbooker.LeaseState{Ref: ref}
			var status string
			err := ext.QueryRowContext(ctx, nanos(p.Until), ref.ID, ref.Attempt, p.WorkerID).Scan(&status)
			if err == nil {
				out[i].Status = runbooker.JobStatus(status)
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return dirty(storeErr(err, fmt.Sprintf("job %s", ref.ID)))
			}
			out[i].Lost = true
			s, _, err := jobState(ctx, tx, ref.ID)
			if err != nil && runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
				return dirty(err)
			}
			out[i].Status = s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const extendSQL = `UPDATE jobs SET lease_expires_at = ?1
	WHERE id = ?2 AND attempt = ?3 AND worker_id = ?4 AND status IN ` + heldStatuses + `
	RETURNING status`

// FinishJob implements runbooker.JobStore. It ends an attempt that still
// holds the job (Activating, Running or Stopping) and stores p.Records in
// the same transaction. When the same attempt has already ended with the
// same status, the stored job is returned unchanged: its records were
// committed with that first finish.
func (db *DB) FinishJob(ctx context.Context, p runbooker.FinishParams) (*runbooker.Job, error) {
	if err := storeutil.CheckFinish(p); err != nil {
		return nil, err
	}
	var j *runbooker.Job
	err := db.writeClean(ctx, func(ctx context.Context, tx querier) error {
		var err error
		j, _, err = db.finishIn(ctx, p)
		return err
	})
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("job %s", p.Ref.ID))
	}
	return j, nil
}

// finishIn ends an attempt in the writer's transaction and says whether
// it wrote anything. A fenced attempt's error (ECONFLICT) is clean, and so
// is a failure before the first write.
func (db *DB) finishIn(ctx context.Context, p runbooker.FinishParams) (*runbooker.Job, bool, error) {
	j, pk, err := scanJob(db.st.jobByID.QueryRowContext(ctx, p.Ref.ID))
	if err != nil {
		return nil, false, err
	}
	if j.Attempt != p.Ref.Attempt || !held(j.Status) {
		if j.Attempt == p.Ref.Attempt && j.Status == p.Status {
			return j, false, nil // a retried delivery of the finish that already happened
		}
		return nil, false, storeutil.Fenced(p.Ref, j.Status, j.Attempt)
	}
	now := p.Now.UTC()
	if _, err := db.st.finish.ExecContext(ctx, string(p.Status), p.Exception,
		nanos(now), nullNanos(p.StartedAt), pk); err != nil {
		return nil, false, err // the first write: clean
	}
	j.Status, j.Exception, j.EndedAt, j.LastModifiedAt, j.LeaseExpiresAt = p.Status, p.Exception, now, now, time.Time{}
	if j.StartedAt.IsZero() && !p.StartedAt.IsZero() {
		j.StartedAt = p.StartedAt.UTC()
	}
	return j, true, dirty(insertRecords(ctx, db.st.insertRecords[:], pk, p.Records))
}

// FinishAndClaim implements runbooker.JobStore: the finish and the claim
// share one transaction of the writer.
func (db *DB) FinishAndClaim(ctx context.Context, f runbooker.FinishParams, c runbooker.ClaimParams) (*runbooker.Job, []*runbooker.Job, error) {
	if c.Limit <= 0 {
		j, err := db.FinishJob(ctx, f)
		return j, nil, err
	}
	if err := storeutil.CheckFinishAndClaim(f, c); err != nil {
		return nil, nil, err
	}
	var j *runbooker.Job
	var fenced error
	var cs []claimed
	err := db.writeClean(ctx, func(ctx context.Context, tx querier) error {
		cs, fenced = cs[:0], nil
		var wrote bool
		var err error
		j, wrote, err = db.finishIn(ctx, f)
		if runbooker.ErrorCode(err) == runbooker.ECONFLICT || errors.Is(err, sql.ErrNoRows) {
			// Fenced off, or no such job: the slot is free all the same.
			fenced, err = storeErr(err, fmt.Sprintf("job %s", f.Ref.ID)), nil
		}
		if err != nil {
			return err
		}
		if cs, err = db.claimIn(ctx, tx, c, cs); err != nil && wrote {
			return dirty(err)
		}
		return err
	})
	if err != nil {
		return nil, nil, storeErr(err, fmt.Sprintf("job %s", f.Ref.ID))
	}
	return j, oldestFirst(cs), fenced
}

// held reports whether a job in status s is held by its current attempt.
func held(s runbooker.JobStatus) bool {
	return s == runbooker.StatusActivating || s == runbooker.StatusRunning || s == runbooker.StatusStopping
}

// jobState reads a job's status and attempt for the fencing checks.
func jobState(ctx context.Context, q querier, id string) (runbooker.JobStatus, int, error) {
	var status string
	var attempt int
	err := q.QueryRowContext(ctx, `SELECT status, attempt FROM jobs WHERE id = ?`, id).Scan(&status, &attempt)
	if err != nil {
		return "", 0, storeErr(err, fmt.Sprintf("job %s", id))
	}
	return runbooker.JobStatus(status), attempt, nil
}
