package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// recordArrays are a batch of records as column arrays, which one INSERT
// … SELECT FROM unnest(…) stores whatever the batch size: no parameter
// limit, one statement, one round trip.
type recordArrays struct {
	seqs, times []int64
	types       []string
	texts       []string
	values      []*string
}

func toArrays(recs []runbooker.StreamRecord) recordArrays {
	a := recordArrays{
		seqs: make([]int64, len(recs)), times: make([]int64, len(recs)),
		types: make([]string, len(recs)), texts: make([]string, len(recs)), values: make([]*string, len(recs)),
	}
	for i := range recs {
		r := &recs[i]
		a.seqs[i], a.times[i], a.types[i], a.texts[i] = r.Seq, nanos(r.Time), string(r.Type), cleanText(r.Text)
		if len(r.Value) > 0 {
			v := cleanText(string(r.Value))
			a.values[i] = &v
		}
	}
	return a
}

// unnestRecords is the row source of a record insert; $n… are the arrays.
func unnestRecords(first int) string {
	n := func(i int) string { return "$" + strconv.Itoa(first+i) }
	return `unnest(` + n(0) + `::bigint[], ` + n(1) + `::bigint[], ` + n(2) + `::text[], ` + n(3) + `::text[], ` +
		n(4) + `::text[]) AS r(seq, time, type, text, value)`
}

// appendSQL stores records only while the attempt holds the job, in one
// statement. The share lock on the job row orders the insert against a
// concurrent finish or rescue of the job: the rescuer's Warning record, one
// past the highest stored sequence number, is numbered after these records
// commit, and records never land in an attempt that was fenced off.
var appendSQL = appendSQLWith(` ON CONFLICT (job_pk, seq) DO NOTHING`)

// appendNewSQL is appendSQL for records none of which is stored yet: a
// plain INSERT costs about a third less per row than one that checks for
// conflicts. A batch that does hold a stored record fails with a unique
// violation, and is sent again as appendSQL.
var appendNewSQL = appendSQLWith(``)

func appendSQLWith(onConflict string) string {
	return `WITH j AS (SELECT pk FROM jobs WHERE id = $1 AND attempt = $2 AND status IN ` + heldStatuses + ` FOR SHARE),
	ins AS (INSERT INTO stream_records (job_pk, seq, time, type, text, value)
		SELECT j.pk, r.seq, r.time, r.type, r.text, r.value FROM j, ` + unnestRecords(3) + onConflict + `)
	SELECT count(*) FROM j`
}

// AppendStreams implements runbooker.JobStore. The attempt must hold the job
// (Activating, Running or Stopping): records of a finished, re-queued or
// newer attempt are refused with ECONFLICT.
func (db *DB) AppendStreams(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	if err := storeutil.CheckRecords(ref, recs); err != nil {
		return err
	}
	a := toArrays(recs)
	var n int
	err := errRetryWithConflicts
	if increasing(recs) {
		// Usually the records are new: the worker sends each once, in order.
		err = db.pool.QueryRow(ctx, appendNewSQL, ref.ID, ref.Attempt, a.seqs, a.times, a.types, a.texts, a.values).Scan(&n)
	}
	if err == errRetryWithConflicts || pgCode(err) == "23505" {
		err = db.pool.QueryRow(ctx, appendSQL, ref.ID, ref.Attempt, a.seqs, a.times, a.types, a.texts, a.values).Scan(&n)
	}
	if err != nil {
		return storeErr(err, "stream records")
	}
	if n == 1 {
		return nil
	}
	status, attempt, err := jobState(ctx, db.pool, ref.ID)
	if err != nil {
		return err
	}
	return storeutil.Fenced(ref, status, attempt)
}

// errRetryWithConflicts marks a batch that goes straight to appendSQL.
var errRetryWithConflicts = errors.New("records may be stored already")

// increasing reports whether recs are in strictly increasing Seq order, so
// that none repeats another.
func increasing(recs []runbooker.StreamRecord) bool {
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq <= recs[i-1].Seq {
			return false
		}
	}
	return true
}

// Streams implements runbooker.JobStore: the job's records in Seq order,
// in one query (a job without matching records is one row of NULLs).
func (db *DB) Streams(ctx context.Context, tenantID, id string, f runbooker.StreamFilter) ([]runbooker.StreamRecord, error) {
	q := `SELECT r.seq, r.time, r.type, r.text, r.value FROM jobs j LEFT JOIN LATERAL (
		SELECT seq, time, type, text, value FROM stream_records
		WHERE job_pk = j.pk AND seq > $3`
	args := []any{id, tenantID, f.After}
	if len(f.Types) > 0 {
		ts := make([]string, len(f.Types))
		for i, t := range f.Types {
			ts[i] = string(t)
		}
		args = append(args, ts)
		q += ` AND type = ANY($4::text[])`
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	q += `) r ON true WHERE j.id = $1 AND j.tenant_id = $2 ORDER BY r.seq`
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, storeErr(err, "stream records")
	}
	defer rows.Close()
	out := []runbooker.StreamRecord{}
	found := false
	for rows.Next() {
		found = true
		var seq, t *int64
		var typ, text, v *string
		if err := rows.Scan(&seq, &t, &typ, &text, &v); err != nil {
			return nil, storeErr(err, "stream records")
		}
		if seq == nil {
			continue // the job, without records
		}
		r := runbooker.StreamRecord{Seq: *seq, Time: fromNanos(*t), Type: runbooker.StreamType(*typ), Text: *text}
		if v != nil {
			r.Value = json.RawMessage(*v)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr(err, "stream records")
	}
	if !found {
		return nil, runbooker.Errorf(runbooker.ENOTFOUND, "job %s not found", id)
	}
	return out, nil
}
