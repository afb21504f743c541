package sqlite

import (
	"context"

	"github.com/runbooker/runbooker"
)

// QueueStats implements runbooker.JobStore. The partial index jobs_queue
// (run_on, created_at) WHERE status = 'New' answers it without the table.
func (db *DB) QueueStats(ctx context.Context) ([]runbooker.QueueStat, error) {
	rows, err := db.rq.QueryContext(ctx, `SELECT run_on, count(*), min(created_at) FROM jobs
		WHERE status = 'New' GROUP BY run_on ORDER BY run_on`)
	if err != nil {
		return nil, storeErr(err, "jobs")
	}
	defer rows.Close()
	out := []runbooker.QueueStat{}
	for rows.Next() {
		var q runbooker.QueueStat
		var oldest int64
		if err := rows.Scan(&q.Group, &q.Queued, &oldest); err != nil {
			return nil, storeErr(err, "jobs")
		}
		q.OldestCreatedAt = fromNanos(oldest)
		out = append(out, q)
	}
	return out, storeErr(rows.Err(), "jobs")
}
