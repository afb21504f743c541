package postgres

import (
	"context"

	"github.com/runbooker/runbooker"
)

// QueueStats implements runbooker.JobStore. The partial index jobs_queue
// (run_on, created_at, pk) WHERE status = 'New' answers it.
func (db *DB) QueueStats(ctx context.Context) ([]runbooker.QueueStat, error) {
	rows, err := db.pool.Query(ctx, `SELECT run_on, count(*), min(created_at) FROM jobs
		WHERE status = 'New' GROUP BY run_on ORDER BY run_on`)
	if err != nil {
		return nil, storeErr(err, "jobs")
	}
	defer rows.Close()
	out := []runbooker.QueueStat{}
	for rows.Next() {
		var q runbooker.QueueStat
		var n, oldest int64
		if err := rows.Scan(&q.Group, &n, &oldest); err != nil {
			return nil, storeErr(err, "jobs")
		}
		q.Queued, q.OldestCreatedAt = int(n), fromNanos(oldest)
		out = append(out, q)
	}
	return out, storeErr(rows.Err(), "jobs")
}
