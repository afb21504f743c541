package sqlite

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/runbooker/runbooker"
)

// expiredJob is an attempt whose lease ran out.
type expiredJob struct {
	pk                       int64
	id, tenantID, runOn, wkr string
	status                   runbooker.JobStatus
	attempt, lostCount       int
}

// RescueJobs implements runbooker.JobStore. One write transaction handles
// every expired attempt, so concurrent rescuers (several goroutines or
// processes) run one after the other and the second finds nothing left. A
// lease is expired once p.Now is past LeaseExpiresAt. MaxAttempts below 1
// counts as 1.
func (db *DB) RescueJobs(ctx context.Context, p runbooker.RescueParams) ([]runbooker.RescuedJob, error) {
	maxAttempts := max(p.MaxAttempts, 1)
	now := nanos(p.Now)
	var out []runbooker.RescuedJob
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		rows, err := tx.QueryContext(ctx, `SELECT pk, id, tenant_id, run_on, worker_id, status, attempt, lost_count
			FROM jobs WHERE status IN `+heldStatuses+` AND lease_expires_at < ? ORDER BY lease_expires_at, pk`, now)
		if err != nil {
			return storeErr(err, "expired jobs")
		}
		var expired []expiredJob
		for rows.Next() {
			var e expiredJob
			var status string
			if err := rows.Scan(&e.pk, &e.id, &e.tenantID, &e.runOn, &e.wkr, &status, &e.attempt, &e.lostCount); err != nil {
				rows.Close()
				return storeErr(err, "expired jobs")
			}
			e.status = runbooker.JobStatus(status)
			expired = append(expired, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return storeErr(err, "expired jobs")
		}
		for _, e := range expired {
			to, err := rescueOne(ctx, tx, e, p.Now, maxAttempts)
			if err != nil {
				return storeErr(err, fmt.Sprintf("job %s", e.id))
			}
			out = append(out, runbooker.RescuedJob{ID: e.id, TenantID: e.tenantID, RunOn: e.runOn, From: e.status, To: to})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func rescueOne(ctx context.Context, tx querier, e expiredJob, now time.Time, maxAttempts int) (runbooker.JobStatus, error) {
	n := nanos(now)
	switch e.status {
	case runbooker.StatusActivating:
		// The process never started: nothing ran, so nothing is counted.
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'New', worker_id = '', lease_expires_at = NULL,
			last_modified_at = ? WHERE pk = ?`, n, e.pk)
		return runbooker.StatusNew, err
	case runbooker.StatusStopping:
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'Stopped', ended_at = ?1, last_modified_at = ?1,
			lease_expires_at = NULL, status_reason = 'worker lost while stopping' WHERE pk = ?2`, n, e.pk)
		return runbooker.StatusStopped, err
	}
	lost := e.lostCount + 1
	to, reason := runbooker.StatusNew, ""
	who := "The worker"
	if e.wkr != "" {
		who = fmt.Sprintf("Worker %s", e.wkr)
	}
	text := fmt.Sprintf("%s was lost (no heartbeat before its lease expired) during attempt %d; the job was re-queued (lost %d of %d times allowed).",
		who, e.attempt, lost, maxAttempts)
	if lost >= maxAttempts {
		to = runbooker.StatusSuspended
		reason = fmt.Sprintf("worker lost %d times", lost)
		text = fmt.Sprintf("%s was lost (no heartbeat before its lease expired) during attempt %d; the job was suspended after losing its worker %d times. Resume it to run it again.",
			who, e.attempt, lost)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO stream_records (job_pk, seq, time, type, text)
		SELECT ?1, coalesce(max(seq), 0) + 1, ?2, 'Warning', ?3 FROM stream_records WHERE job_pk = ?1`,
		e.pk, n, text); err != nil {
		return "", err
	}
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, lost_count = ?, status_reason = ?, worker_id = '',
		lease_expires_at = NULL, last_modified_at = ? WHERE pk = ?`, string(to), lost, reason, n, e.pk)
	return to, err
}

// SuspendWaiting implements runbooker.Store. An empty p.TenantID means
// every tenant, as in ClaimParams. Ids are returned oldest job first.
func (db *DB) SuspendWaiting(ctx context.Context, p runbooker.SuspendParams) ([]string, error) {
	if p.Group == "" {
		return nil, runbooker.Errorf(runbooker.EINVALID, "suspend waiting jobs: group is required")
	}
	q := `UPDATE jobs SET status = 'Suspended', status_reason = ?1, last_modified_at = ?2
		WHERE status = 'New' AND run_on = ?3 AND last_modified_at < ?4`
	args := []any{p.Reason, nanos(p.Now), p.Group, nanos(p.QueuedBefore)}
	if p.TenantID != "" {
		q += ` AND tenant_id = ?5`
		args = append(args, p.TenantID)
	}
	type parked struct {
		id          string
		created, pk int64
	}
	var ps []parked
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		ps = ps[:0]
		rows, err := tx.QueryContext(ctx, q+` RETURNING id, created_at, pk`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x parked
			if err := rows.Scan(&x.id, &x.created, &x.pk); err != nil {
				return err
			}
			ps = append(ps, x)
		}
		return rows.Err()
	})
	if err != nil {
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
