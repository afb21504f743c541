package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// recordChunks are the sizes of the multi-row INSERTs records are written
// with, largest first: a batch of n records takes at most a few statements
// of each size. Six parameters a row stay well under SQLite's 32766-parameter
// limit; larger chunks stop paying off once statement overhead is amortised.
// (Numbered parameters, to bind the job once, make the driver's binding
// quadratic: plain ? it is.)
var recordChunks = [...]int{256, 64, 16, 4, 1}

// insertRecordsSQL returns an INSERT of n records that skips sequence
// numbers already stored, which makes retried uploads harmless.
func insertRecordsSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO stream_records (job_pk, seq, time, type, text, value) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(" ON CONFLICT (job_pk, seq) DO NOTHING")
	return b.String()
}

// AppendStreams implements runbooker.JobStore. The attempt must hold the job
// (Activating, Running or Stopping): records of a finished, re-queued or
// newer attempt are refused with ECONFLICT. One transaction per call.
func (db *DB) AppendStreams(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	if err := storeutil.CheckRecords(ref, recs); err != nil {
		return err
	}
	return db.writeClean(ctx, func(ctx context.Context, tx querier) error {
		var pk int64
		var status string
		var attempt int
		err := tx.QueryRowContext(ctx, `SELECT pk, status, attempt FROM jobs WHERE id = ?`, ref.ID).Scan(&pk, &status, &attempt)
		if err != nil {
			return storeErr(err, fmt.Sprintf("job %s", ref.ID))
		}
		switch runbooker.JobStatus(status) {
		case runbooker.StatusActivating, runbooker.StatusRunning, runbooker.StatusStopping:
			if attempt == ref.Attempt {
				return dirty(insertRecords(ctx, db.st.insertRecords[:], pk, recs))
			}
		}
		return storeutil.Fenced(ref, runbooker.JobStatus(status), attempt)
	})
}

// insertRecords writes recs of the job with row id pk, chunk by chunk
// through the prepared statements of st (one per size in recordChunks).
func insertRecords(ctx context.Context, st []*sql.Stmt, pk int64, recs []runbooker.StreamRecord) error {
	if len(recs) == 0 {
		return nil
	}
	args := make([]any, 0, 6*min(len(recs), recordChunks[0]))
	for k, size := range recordChunks {
		for len(recs) >= size {
			args = args[:0]
			for i := range size {
				r := &recs[i]
				var v any
				if len(r.Value) > 0 {
					v = string(r.Value)
				}
				args = append(args, pk, r.Seq, nanos(r.Time), string(r.Type), r.Text, v)
			}
			if _, err := st[k].ExecContext(ctx, args...); err != nil {
				return storeErr(err, "stream records")
			}
			recs = recs[size:]
		}
	}
	return nil
}

// Streams implements runbooker.JobStore: the job's records in Seq order.
func (db *DB) Streams(ctx context.Context, tenantID, id string, f runbooker.StreamFilter) ([]runbooker.StreamRecord, error) {
	var pk int64
	err := db.rq.QueryRowContext(ctx, `SELECT pk FROM jobs WHERE id = ? AND tenant_id = ?`, id, tenantID).Scan(&pk)
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("job %s", id))
	}
	q := `SELECT seq, time, type, text, value FROM stream_records WHERE job_pk = ? AND seq > ?`
	args := []any{pk, f.After}
	if len(f.Types) > 0 {
		q += ` AND type IN (` + placeholders(len(f.Types)) + `)`
		for _, t := range f.Types {
			args = append(args, string(t))
		}
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := db.rq.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, storeErr(err, "stream records")
	}
	defer rows.Close()
	out := []runbooker.StreamRecord{}
	for rows.Next() {
		var r runbooker.StreamRecord
		var t int64
		var typ string
		var v sql.NullString
		if err := rows.Scan(&r.Seq, &t, &typ, &r.Text, &v); err != nil {
			return nil, storeErr(err, "stream records")
		}
		r.Time, r.Type = fromNanos(t), runbooker.StreamType(typ)
		if v.Valid {
			r.Value = json.RawMessage(v.String)
		}
		out = append(out, r)
	}
	return out, storeErr(rows.Err(), "stream records")
}
