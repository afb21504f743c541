package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// purgeBatch bounds how many jobs one purge transaction deletes, so a large
// purge never holds the single writer for long.
const purgeBatch = 200

// PurgeJobs implements runbooker.JobStore. Only terminal jobs are deleted,
// with their stream records.
//
// There is no index on the end time (it would cost a page write at every
// finish); a job that ended before the cutoff was created before it, so the
// listing index (tenant, created) narrows the search, tenant by tenant. A
// job whose clock-skewed CreatedAt is after the cutoff waits for a later
// purge.
func (db *DB) PurgeJobs(ctx context.Context, endedBefore time.Time) (int, error) {
	tenants, err := db.jobTenants(ctx)
	if err != nil {
		return 0, storeErr(err, "job purge")
	}
	total := 0
	for _, tenant := range tenants {
		for {
			n, err := db.purgeSome(ctx, tenant, nanos(endedBefore))
			total += n
			if err != nil {
				return total, storeErr(err, "job purge")
			}
			if n < purgeBatch {
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

// purgeSome deletes up to purgeBatch jobs of a tenant, returning how many.
func (db *DB) purgeSome(ctx context.Context, tenant string, cutoff int64) (int, error) {
	var n int
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		rows, err := tx.QueryContext(ctx, `SELECT pk FROM jobs WHERE tenant_id = ?1 AND created_at < ?2
			AND ended_at < ?2 AND status IN ('Completed', 'Failed', 'Stopped') LIMIT ?3`, tenant, cutoff, purgeBatch)
		if err != nil {
			return err
		}
		var pks []any
		for rows.Next() {
			var pk int64
			if err := rows.Scan(&pk); err != nil {
				rows.Close()
				return err
			}
			pks = append(pks, pk)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(pks) == 0 {
			return err
		}
		in := `(` + placeholders(len(pks)) + `)`
		if _, err := tx.ExecContext(ctx, `DELETE FROM stream_records WHERE job_pk IN `+in, pks...); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE pk IN `+in, pks...)
		if err != nil {
			return err
		}
		d, err := res.RowsAffected()
		n = int(d)
		return err
	})
	return n, err
}
