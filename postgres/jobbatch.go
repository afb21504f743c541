package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// createsInFlight is how many batches of creations run at once: enough to
// keep the pool busy, few enough that calls arriving meanwhile gather.
// With one, jobs created one per call (8 API clients) went through about
// a fifth slower.
const createsInFlight = 2

// finishesInFlight is how many batches of finishes run at once. One: the
// finishes of jobs claimed together update rows on the same heap and index
// pages, so a second batch beside the first mostly waits for the first's
// page locks, and it splits the calls that would have gathered. Measured
// with the bench's queue-only work: batches of 80 finishes on average
// instead of 45, and jobs worked through 10–25 % faster.
const finishesInFlight = 1

func (db *DB) startBatchers() {
	db.creates = &batcher[newJob, struct{}]{run: db.insertJobs, inFlight: createsInFlight, maxBatch: 500}
	db.finishes = &batcher[runbooker.FinishParams, *runbooker.Job]{run: db.finishJobs, inFlight: finishesInFlight, maxBatch: 500}
	// Audit batches run one at a time: each chains on the entries of the one before.
	db.audits = &batcher[runbooker.AuditEntry, runbooker.AuditEntry]{run: db.appendAudits, inFlight: 1, maxBatch: 200}
}

const insertJobCols = `id, tenant_id, runbook_name, runbook_version, language, parameters,
	run_on, caller, status, status_reason, attempt, worker_id, created_at, last_modified_at, lease_expires_at, log_verbose, ` + storeutil.JobTargetColumns + `, schedule_name, catch_up`

// insertJobs stores the jobs of a batch in one statement. When one of them
// is refused (a duplicate id) each is inserted alone, so that only that one
// fails.
func (db *DB) insertJobs(ctx context.Context, calls []*batchCall[newJob, struct{}]) {
	if len(calls) == 1 {
		calls[0].err = db.insertJob(ctx, calls[0].in)
		return
	}
	js, params := make([]*runbooker.Job, len(calls)), make([]string, len(calls))
	for i, c := range calls {
		js[i], params[i] = c.in.j, c.in.params
	}
	err := db.insertMany(ctx, js, params)
	if err != nil && !isUnavailable(err) {
		for _, c := range calls {
			c.err = db.insertJob(ctx, c.in)
		}
		return
	}
	for _, c := range calls {
		c.err = storeErr(err, fmt.Sprintf("job %s", c.in.j.ID))
	}
}

// insertMany stores jobs in one statement (all or none), params[i] being
// js[i]'s parameters as stored.
func (db *DB) insertMany(ctx context.Context, js []*runbooker.Job, params []string) error {
	n := len(js)
	ids, tenants, names, versions, langs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	runOns, callers, statuses, reasons, workers := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	attempts, created, leases, verbose := make([]int32, n), make([]int64, n), make([]*int64, n), make([]bool, n)
	tKinds, tIDs, tNames := make([]*string, n), make([]*string, n), make([]*string, n)
	schedules, catchUps := make([]string, n), make([]bool, n)
	for i, j := range js {
		ids[i], tenants[i], names[i], versions[i], langs[i] = j.ID, j.TenantID, j.RunbookName, j.RunbookVersion, string(j.Language)
		runOns[i], callers[i], statuses[i] = j.RunOn, j.Caller, string(j.Status)
		reasons[i], attempts[i], workers[i] = cleanText(j.StatusReason), int32(j.Attempt), j.WorkerID
		created[i], leases[i], verbose[i] = nanos(j.CreatedAt), nullNanos(j.LeaseExpiresAt), j.LogVerbose
		tKinds[i], tIDs[i], tNames[i] = storeutil.TargetArgs(j.Target)
		schedules[i], catchUps[i] = j.Schedule, j.CatchUp
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO jobs (`+insertJobCols+`)
		SELECT id, tenant, name, version, lang, params, run_on, caller, status, reason, attempt, worker, created, created, lease, log_v,
			t_kind, t_id, t_name, sched, catch_up
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::integer[], $12::text[], $13::bigint[], $14::bigint[], $15::boolean[],
			$16::text[], $17::text[], $18::text[], $19::text[], $20::boolean[])
			AS r(id, tenant, name, version, lang, params, run_on, caller, status, reason, attempt, worker, created, lease, log_v,
				t_kind, t_id, t_name, sched, catch_up)`,
		ids, tenants, names, versions, langs, params, runOns, callers, statuses, reasons, attempts, workers, created, leases, verbose,
		tKinds, tIDs, tNames, schedules, catchUps)
	return err
}

// newJob is a job to insert with its parameters as stored.
type newJob struct {
	j      *runbooker.Job
	params string
}

// insertJob stores one job.
func (db *DB) insertJob(ctx context.Context, nj newJob) error {
	j := nj.j
	kind, id, name := storeutil.TargetArgs(j.Target)
	_, err := db.pool.Exec(ctx, `INSERT INTO jobs (`+insertJobCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18, $19, $20)`,
		j.ID, j.TenantID, j.RunbookName, j.RunbookVersion, string(j.Language), nj.params, j.RunOn,
		j.Caller, string(j.Status), cleanText(j.StatusReason), j.Attempt, j.WorkerID, nanos(j.CreatedAt),
		nullNanos(j.LeaseExpiresAt), j.LogVerbose, kind, id, name, j.Schedule, j.CatchUp)
	return storeErr(err, fmt.Sprintf("job %s", j.ID))
}

// finishJobs ends the attempts of a batch in one transaction: one UPDATE
// for all (each row still fenced on its attempt), one INSERT for all their
// records. Calls the UPDATE did not match (fenced, retried, unknown), and a
// second call for a job already in the batch, are answered one by one.
func (db *DB) finishJobs(ctx context.Context, calls []*batchCall[runbooker.FinishParams, *runbooker.Job]) {
	if len(calls) == 1 {
		calls[0].out, calls[0].err = db.finishOne(ctx, calls[0].in)
		return
	}
	var batch, alone []*batchCall[runbooker.FinishParams, *runbooker.Job]
	seen := map[string]bool{}
	for _, c := range calls {
		if seen[c.in.Ref.ID] {
			alone = append(alone, c)
			continue
		}
		seen[c.in.Ref.ID] = true
		batch = append(batch, c)
	}
	n := len(batch)
	ids, statuses, excs := make([]string, n), make([]string, n), make([]string, n)
	attempts, nows, starts := make([]int32, n), make([]int64, n), make([]*int64, n)
	for i, c := range batch {
		p := c.in
		ids[i], attempts[i], statuses[i], excs[i] = p.Ref.ID, int32(p.Ref.Attempt), string(p.Status), cleanText(p.Exception)
		nows[i], starts[i] = nanos(p.Now.UTC()), nullNanos(p.StartedAt)
	}
	var recs []runbooker.StreamRecord
	var owners []string
	for _, c := range batch {
		for range c.in.Records {
			owners = append(owners, c.in.Ref.ID)
		}
		recs = append(recs, c.in.Records...)
	}
	a := toArrays(recs)
	done := map[string]*runbooker.Job{}
	rows, err := db.pool.Query(ctx, `WITH f AS (UPDATE jobs SET status = r.status, exception = r.exc, ended_at = r.now,
			last_modified_at = r.now, lease_expires_at = NULL, started_at = coalesce(jobs.started_at, r.started)
			FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
				AS r(id, attempt, status, exc, now, started)
			WHERE jobs.id = r.id AND jobs.attempt = r.attempt AND jobs.status IN `+heldStatuses+`
			RETURNING `+qualified("jobs", jobCols)+`),
		ins AS (INSERT INTO stream_records (job_pk, seq, time, type, text, value)
			SELECT f.pk, x.seq, x.time, x.type, x.text, x.value
			FROM unnest($7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[])
				AS x(id, seq, time, type, text, value) JOIN f ON f.id = x.id
			ON CONFLICT (job_pk, seq) DO NOTHING)
		SELECT `+jobCols+` FROM f`, ids, attempts, statuses, excs, nows, starts, owners, a.seqs, a.times, a.types, a.texts, a.values)
	if err == nil {
		for rows.Next() {
			j, _, serr := scanJob(rows)
			if serr != nil {
				err = serr
				break
			}
			done[j.ID] = j
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil && isUnavailable(err) {
		for _, c := range calls {
			c.err = storeErr(err, fmt.Sprintf("job %s", c.in.Ref.ID))
		}
		return
	}
	for _, c := range batch {
		if j, ok := done[c.in.Ref.ID]; ok && err == nil {
			c.out = j
		} else {
			alone = append(alone, c) // fenced, retried or unknown; or the batch failed: on its own
		}
	}
	for _, c := range alone {
		c.out, c.err = db.finishOne(ctx, c.in)
	}
}

// isUnavailable reports whether err means the database cannot be used now,
// so that retrying a batch's calls one by one would fail the same way. A
// deadlock or serialization failure (class 40) is not: one by one, the
// calls succeed.
func isUnavailable(err error) bool {
	return runbooker.ErrorCode(storeErr(err, "")) == runbooker.EUNAVAILABLE && !strings.HasPrefix(pgCode(err), "40")
}

// qualified prefixes every column of a column list with table.
func qualified(table, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
