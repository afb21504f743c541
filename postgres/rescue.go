package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
)

// rescueBatch bounds the expired attempts one rescue transaction takes.
const rescueBatch = 500

// expiredJob is an attempt whose lease ran out.
type expiredJob struct {
	pk                       int64
	id, tenantID, runOn, wkr string
	status                   runbooker.JobStatus
	attempt, lostCount       int32
}

// RescueJobs implements runbooker.JobStore. Each pass locks the expired
// attempts it handles with FOR UPDATE SKIP LOCKED, so rescuers on every
// replica run at once without ever taking the same job: a job is rescued
// once and its Warning record written once. A job whose row another
// transaction holds at that instant (a record append, a finish) is left to
// the next pass. A lease is expired once p.Now is past LeaseExpiresAt.
// MaxAttempts below 1 counts as 1.
func (db *DB) RescueJobs(ctx context.Context, p runbooker.RescueParams) ([]runbooker.RescuedJob, error) {
	maxAttempts := max(p.MaxAttempts, 1)
	var out []runbooker.RescuedJob
	for {
		var batch []runbooker.RescuedJob
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			var err error
			batch, err = rescueSome(ctx, tx, p.Now, maxAttempts)
			return err
		})
		if err != nil {
			return out, storeErr(err, "expired jobs")
		}
		out = append(out, batch...)
		if len(batch) < rescueBatch {
			return out, nil
		}
	}
}

// rescueSome locks up to rescueBatch expired attempts and moves them on,
// in three statements whatever their number: lock, update, Warning records.
func rescueSome(ctx context.Context, tx pgx.Tx, now time.Time, maxAttempts int) ([]runbooker.RescuedJob, error) {
	n := nanos(now)
	rows, err := tx.Query(ctx, `SELECT pk, id, tenant_id, run_on, worker_id, status, attempt, lost_count
		FROM jobs WHERE status IN `+heldStatuses+` AND lease_expires_at < $1
		ORDER BY lease_expires_at, pk LIMIT $2 FOR UPDATE SKIP LOCKED`, n, rescueBatch)
	if err != nil {
		return nil, err
	}
	var expired []expiredJob
	for rows.Next() {
		var e expiredJob
		var status string
		if err := rows.Scan(&e.pk, &e.id, &e.tenantID, &e.runOn, &e.wkr, &status, &e.attempt, &e.lostCount); err != nil {
			rows.Close()
			return nil, err
		}
		e.status = runbooker.JobStatus(status)
		expired = append(expired, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(expired) == 0 {
		return nil, err
	}
	var (
		pks                []int64
		statuses           []string
		lost               []int32
		reasons, workerIDs []*string
		ended              []*int64
		warnPKs            []int64
		warnings           []string
		out                []runbooker.RescuedJob
	)
	empty := ""
	for _, e := range expired {
		to, reason, warning := rescueOutcome(e, maxAttempts)
		pks, statuses = append(pks, e.pk), append(statuses, string(to))
		var rs, wk *string // nil: unchanged
		var end *int64
		nl := e.lostCount
		switch e.status {
		case runbooker.StatusActivating: // the process never started: nothing ran, nothing is counted
			wk = &empty
		case runbooker.StatusStopping:
			rs, end = &reason, &n
		default:
			nl, rs, wk = e.lostCount+1, &reason, &empty
			warnPKs, warnings = append(warnPKs, e.pk), append(warnings, warning)
		}
		lost, reasons, workerIDs, ended = append(lost, nl), append(reasons, rs), append(workerIDs, wk), append(ended, end)
		out = append(out, runbooker.RescuedJob{ID: e.id, TenantID: e.tenantID, RunOn: e.runOn, From: e.status, To: to})
	}
	if _, err := tx.Exec(ctx, `UPDATE jobs SET status = r.status, lost_count = r.lost,
		status_reason = coalesce(r.reason, jobs.status_reason), worker_id = coalesce(r.worker, jobs.worker_id),
		ended_at = coalesce(r.ended, jobs.ended_at), lease_expires_at = NULL, last_modified_at = $1
		FROM unnest($2::bigint[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::bigint[])
			AS r(pk, status, lost, reason, worker, ended)
		WHERE jobs.pk = r.pk`, n, pks, statuses, lost, reasons, workerIDs, ended); err != nil {
		return nil, err
	}
	// A new statement sees every record committed before the locks were
	// taken; appends wait for this transaction (they share-lock the job).
	if len(warnPKs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO stream_records (job_pk, seq, time, type, text)
			SELECT r.pk, coalesce((SELECT max(seq) FROM stream_records s WHERE s.job_pk = r.pk), 0) + 1, $1, 'Warning', r.text
			FROM unnest($2::bigint[], $3::text[]) AS r(pk, text)`, n, warnPKs, warnings); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rescueOutcome is where an expired attempt goes, the StatusReason it gets
// and, for a Running one, the text of its Warning record. The texts are the
// SQLite engine's, word for word.
func rescueOutcome(e expiredJob, maxAttempts int) (to runbooker.JobStatus, reason, warning string) {
	switch e.status {
	case runbooker.StatusActivating:
		return runbooker.StatusNew, "", ""
	case runbooker.StatusStopping:
		return runbooker.StatusStopped, "worker lost while stopping", ""
	}
	lost := int(e.lostCount) + 1
	who := "The worker"
	if e.wkr != "" {
		who = fmt.Sprintf("Worker %s", e.wkr)
	}
	if lost >= maxAttempts {
		return runbooker.StatusSuspended, fmt.Sprintf("worker lost %d times", lost),
			fmt.Sprintf("%s was lost (no heartbeat before its lease expired) during attempt %d; the job was suspended after losing its worker %d times. Resume it to run it again.",
				who, e.attempt, lost)
	}
	return runbooker.StatusNew, "", fmt.Sprintf("%s was lost (no heartbeat before its lease expired) during attempt %d; the job was re-queued (lost %d of %d times allowed).",
		who, e.attempt, lost, maxAttempts)
}

// SuspendWaiting implements runbooker.JobStore in one statement: New jobs
// whose last status change is before p.QueuedBefore are parked. Jobs a
// claimer holds at that moment (SKIP LOCKED) are left to it, and replicas
// running this at once park disjoint sets. An empty p.TenantID means every
// tenant, as in ClaimParams. Ids are returned oldest job first.
func (db *DB) SuspendWaiting(ctx context.Context, p runbooker.SuspendParams) ([]string, error) {
	if p.Group == "" {
		return nil, runbooker.Errorf(runbooker.EINVALID, "suspend waiting jobs: group is required")
	}
	cond, args := "", []any{cleanText(p.Reason), nanos(p.Now), p.Group, nanos(p.QueuedBefore)}
	if p.TenantID != "" {
		cond, args = "AND tenant_id = $5", append(args, p.TenantID)
	}
	rows, err := db.pool.Query(ctx, `WITH waiting AS MATERIALIZED (
			SELECT pk FROM jobs WHERE status = 'New' AND run_on = $3 AND last_modified_at < $4 `+cond+`
			FOR UPDATE SKIP LOCKED)
		UPDATE jobs SET status = 'Suspended', status_reason = $1, last_modified_at = $2
		WHERE pk IN (SELECT pk FROM waiting) RETURNING id, created_at, pk`, args...)
	if err != nil {
		return nil, storeErr(err, "waiting jobs")
	}
	defer rows.Close()
	type parked struct {
		id          string
		created, pk int64
	}
	var ps []parked
	for rows.Next() {
		var x parked
		if err := rows.Scan(&x.id, &x.created, &x.pk); err != nil {
			return nil, storeErr(err, "waiting jobs")
		}
		ps = append(ps, x)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr(err, "waiting jobs")
	}
	sort.Slice(ps, func(i, j int) bool {
		return ps[i].created < ps[j].created || ps[i].created == ps[j].created && ps[i].pk < ps[j].pk
	})
	ids := make([]string, len(ps))
	for i, x := range ps {
		ids[i] = x.id
	}
	return ids, nil
}

// purgeBatch bounds how many jobs one purge transaction deletes.
const purgeBatch = 200

// PurgeJobs implements runbooker.JobStore. Only terminal jobs that ended
// strictly before endedBefore are deleted, with their stream records, a
// batch per transaction; SKIP LOCKED lets purgers on several replicas share
// the work. A job may hold millions of records, so the purge, a background
// task, is exempt from the statement timeout meant for requests.
func (db *DB) PurgeJobs(ctx context.Context, endedBefore time.Time) (int, error) {
	total := 0
	for {
		var n int
		t0 := time.Now()
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
				return err
			}
			// (A trigger deletes the jobs' listing rows: 0012_job_index.sql.)
			tag, err := tx.Exec(ctx, `WITH doomed AS MATERIALIZED (
					SELECT pk FROM jobs WHERE status IN ('Completed', 'Failed', 'Stopped') AND ended_at < $1
					LIMIT $2 FOR UPDATE SKIP LOCKED),
				records AS (DELETE FROM stream_records WHERE job_pk IN (SELECT pk FROM doomed))
				DELETE FROM jobs WHERE pk IN (SELECT pk FROM doomed)`, nanos(endedBefore), purgeBatch)
			n = int(tag.RowsAffected())
			return err
		})
		if err != nil {
			return total, storeErr(err, "job purge")
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
		// A purge of a long history is background work: after each batch
		// it leaves the server (and, on a small machine, the CPU) to the
		// jobs being dispatched for a quarter of the time the batch took.
		select {
		case <-time.After(time.Since(t0) / 4):
		case <-ctx.Done(): // the next batch reports it
		}
	}
}
