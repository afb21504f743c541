package sqlite

import (
	"context"
	"database/sql"
	"math"
	"time"
)

// The retention purge shares the single writer with everything else, so it
// holds it only in short, bounded transactions: each deletes at most
// purgeRecords stream records per job it may delete, and as many jobs as
// keep the transaction near purgeHold (from purgeMin to purgeMax jobs, the
// count adapted after each one). Most of a transaction's cost is the pages
// it writes, and a listing index (runbook, caller) puts consecutive jobs on
// different pages, so longer transactions delete more jobs a page. In the
// bench's scale step (100k jobs, dispatching one job at a time meanwhile),
// five alternated pairs: 8 ms instead of 5 ms purged 11,800–15,200 jobs/s
// instead of 8,600–11,400, with dispatch p50 meanwhile 3.6–4.2 ms instead
// of 4.0–4.4 (fewer transactions to collide with) and p99 15–21 ms
// instead of 13–14.
//
// After each transaction the purge leaves the writer alone for a quarter
// of the time it held it (at least purgePause), so that writes queued
// meanwhile commit on their own rather than in a group with the next purge
// transaction. A 1,000,000-line job is deleted over many
// transactions.
const (
	purgeBatch   = 500 // candidates read at a time
	purgeMin     = 5
	purgeMax     = 500
	purgeStart   = 50
	purgeRecords = 50 // records per job of the transaction's jobs, at most
	purgeHold    = 8 * time.Millisecond
	purgePause   = 200 * time.Microsecond
)

// PurgeJobs implements runbooker.JobStore. Only terminal jobs are deleted,
// with their stream records.
//
// There is no index on the end time (it would cost a page write at every
// finish); a job that ended before the cutoff was created before it, so the
// listing index (tenant, created) narrows the search, tenant by tenant, read
// on the reader connections and resumed after the last job found, so no job
// is examined twice. A job whose clock-skewed CreatedAt is after the cutoff
// waits for a later purge.
//
// The records of a job go before the job, possibly over several
// transactions: a purge interrupted between them leaves a terminal job past
// its retention with part of its records, which the next purge deletes.
func (db *DB) PurgeJobs(ctx context.Context, endedBefore time.Time) (int, error) {
	tenants, err := db.jobTenants(ctx)
	if err != nil {
		return 0, storeErr(err, "job purge")
	}
	cutoff := nanos(endedBefore)
	total, size := 0, purgeStart
	for _, tenant := range tenants {
		at, pk := int64(math.MinInt64), int64(0)
		for {
			pks, err := db.purgeCandidates(ctx, tenant, cutoff, &at, &pk)
			if err != nil {
				return total, storeErr(err, "job purge")
			}
			for len(pks) > 0 {
				t0 := time.Now()
				k := min(size, len(pks))
				n, rest, err := db.purgeSome(ctx, pks[:k])
				total += n
				if err != nil {
					return total, storeErr(err, "job purge")
				}
				pks = pks[k-len(rest):] // rest is the tail of pks[:k]
				took := time.Since(t0)
				switch {
				case took > purgeHold:
					size = max(purgeMin, size*3/4)
				case took < purgeHold/2:
					size = min(purgeMax, size*5/4+1)
				}
				select {
				case <-ctx.Done():
					return total, ctx.Err()
				case <-time.After(max(took/4, purgePause)):
				}
			}
			if at == math.MaxInt64 {
				break
			}
		}
	}
	return total, nil
}

// jobTenants lists the tenants that have jobs, seeking through the listing
// index one tenant at a time instead of scanning it.
func (db *DB) jobTenants(ctx context.Context) ([]string, error) {
	var out []string
	var last string
	for {
		var t sql.NullString
		if err := db.rq.QueryRowContext(ctx, `SELECT min(tenant_id) FROM jobs WHERE tenant_id > ?`, last).Scan(&t); err != nil {
			return nil, err
		}
		if !t.Valid {
			return out, nil
		}
		out = append(out, t.String)
		last = t.String
	}
}

// purgeCandidates returns up to purgeBatch terminal jobs of a tenant that
// ended before cutoff, oldest first from after (at, pk), and moves (at, pk)
// to the last one; at is math.MaxInt64 once no more are left.
func (db *DB) purgeCandidates(ctx context.Context, tenant string, cutoff int64, at, pk *int64) ([]int64, error) {
	rows, err := db.rq.QueryContext(ctx, `SELECT pk, created_at FROM jobs
		WHERE tenant_id = ?1 AND created_at < ?2 AND (created_at, pk) > (?3, ?4)
		AND ended_at < ?2 AND status IN ('Completed', 'Failed', 'Stopped')
		ORDER BY created_at, pk LIMIT ?5`, tenant, cutoff, *at, *pk, purgeBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pks []int64
	for rows.Next() {
		if err := rows.Scan(pk, at); err != nil {
			return nil, err
		}
		pks = append(pks, *pk)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(pks) < purgeBatch {
		*at = math.MaxInt64
	}
	return pks, nil
}

// purgeSome deletes, in one transaction, the records of the jobs pks, in
// order and at most purgeRecords × len(pks) of them, then each job whose
// records are all gone. It returns how many jobs it deleted and the jobs
// still to do.
func (db *DB) purgeSome(ctx context.Context, pks []int64) (int, []int64, error) {
	var n int
	var rest []int64
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		n, rest = 0, pks
		budget := int64(purgeRecords * len(pks))
		args := make([]any, len(pks))
		for i, pk := range pks {
			args[i] = pk
		}
		in := `(` + placeholders(len(pks)) + `)`
		// Mostly the jobs' records fit the budget together: two statements.
		var recs int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM stream_records WHERE job_pk IN `+in, args...).Scan(&recs); err != nil {
			return err
		}
		if recs <= budget {
			if _, err := tx.ExecContext(ctx, `DELETE FROM stream_records WHERE job_pk IN `+in, args...); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE pk IN `+in, args...)
			if err != nil {
				return err
			}
			d, err := res.RowsAffected()
			n, rest = int(d), nil
			return err
		}
		// Else job by job, records in order, until the budget is spent.
		var done []int64
		for len(rest) > 0 && budget > 0 {
			res, err := tx.ExecContext(ctx, `DELETE FROM stream_records WHERE job_pk = ?1 AND seq <= (
				SELECT max(seq) FROM (SELECT seq FROM stream_records WHERE job_pk = ?1 ORDER BY seq LIMIT ?2))`, rest[0], budget)
			if err != nil {
				return err
			}
			d, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if d >= budget {
				break // the budget ran out on this job: it may have more
			}
			budget -= d
			done = append(done, rest[0])
			rest = rest[1:]
		}
		if len(done) == 0 {
			return nil
		}
		args = args[:len(done)]
		for i, pk := range done {
			args[i] = pk
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE pk IN (`+placeholders(len(done))+`)`, args...)
		if err != nil {
			return err
		}
		d, err := res.RowsAffected()
		n = int(d)
		return err
	})
	return n, rest, err
}
