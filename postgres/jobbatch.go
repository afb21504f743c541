package postgres

import (
	"context"
	"fmt"
	"strconv"
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
	// Finish-and-claims are finishes too, and their claims walk the same
	// queue: one batch at a time, for the reasons of finishesInFlight.
	db.chains = &batcher[finishClaim, finishClaimed]{run: db.finishAndClaimJobs, inFlight: finishesInFlight, maxBatch: 100}
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
	lazy   bool // committed without waiting for the WAL flush (CreateJobLazily)
}

// insertJob stores one job.
func (db *DB) insertJob(ctx context.Context, nj newJob) error {
	j := nj.j
	kind, id, name := storeutil.TargetArgs(j.Target)
	const values = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18, $19, $20`
	q := `INSERT INTO jobs (` + insertJobCols + `) VALUES (` + values + `)`
	if nj.lazy {
		q = `INSERT INTO jobs (` + insertJobCols + `) SELECT ` + values + ` FROM ` + asyncCommit
	}
	_, err := db.pool.Exec(ctx, q,
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
	batch, alone := apartRepeats(calls, func(p runbooker.FinishParams) string { return p.Ref.ID })
	ps := make([]runbooker.FinishParams, len(batch))
	for i, c := range batch {
		ps[i] = c.in
	}
	q, args := finishManyWith(ps)
	done := map[string]*runbooker.Job{}
	rows, err := db.pool.Query(ctx, q+` SELECT `+jobCols+` FROM f`, args...)
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

// finishClaim is one FinishAndClaim call: a finish, and the claim of the
// slot's next jobs.
type finishClaim struct {
	f runbooker.FinishParams
	c runbooker.ClaimParams
}

// finishClaimed is a FinishAndClaim call's answer: the finished job, and
// the jobs claimed (the worker's even when the finish failed).
type finishClaimed struct {
	j       *runbooker.Job
	claimed []*runbooker.Job
}

// finishAndClaimJobs answers the FinishAndClaim calls of a batch. Calls
// that claim for the same worker, group, tenant and languages (the slots
// of one worker) go in one statement and one commit: one UPDATE ends all
// their attempts, one INSERT stores their records, one claim takes the
// sum of their limits, and the jobs claimed are dealt out oldest first, in
// call order. A finish that did not apply is answered as a lone one would
// be (unfinished); its call still gets its share of the claim.
func (db *DB) finishAndClaimJobs(ctx context.Context, calls []*batchCall[finishClaim, finishClaimed]) {
	if len(calls) == 1 {
		c := calls[0]
		c.out.j, c.out.claimed, c.err = db.finishAndClaimOne(ctx, c.in.f, c.in.c)
		return
	}
	var keys []string
	byKey := map[string][]*batchCall[finishClaim, finishClaimed]{}
	for _, c := range calls {
		k := claimKey(c.in.c)
		if byKey[k] == nil {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], c)
	}
	for _, k := range keys {
		db.finishAndClaimMany(ctx, byKey[k])
	}
}

// claimKey tells apart the claims that one statement cannot serve together.
func claimKey(p runbooker.ClaimParams) string {
	var b strings.Builder
	for _, s := range []string{p.TenantID, p.Group, p.WorkerID} {
		b.WriteString(strconv.Quote(s))
	}
	if p.Languages != nil {
		b.WriteString("[")
		for _, l := range p.Languages {
			b.WriteString(strconv.Quote(string(l)))
		}
	}
	return b.String()
}

// finishAndClaimMany runs calls of one claim key (see finishAndClaimJobs).
func (db *DB) finishAndClaimMany(ctx context.Context, calls []*batchCall[finishClaim, finishClaimed]) {
	batch, alone := apartRepeats(calls, func(in finishClaim) string { return in.f.Ref.ID })
	if len(batch) == 1 {
		alone = calls
		batch = nil
	}
	if len(batch) > 0 {
		ps := make([]runbooker.FinishParams, len(batch))
		claim := batch[0].in.c
		claim.Limit = 0
		for i, c := range batch {
			ps[i] = c.in.f
			claim.Limit += c.in.c.Limit
			if c.in.c.Now.After(claim.Now) {
				claim.Now = c.in.c.Now
			}
			if c.in.c.LeaseUntil.After(claim.LeaseUntil) {
				claim.LeaseUntil = c.in.c.LeaseUntil
			}
		}
		q, args := finishManyWith(ps)
		done, claimed, err := db.queryFinishAndClaim(ctx, q, args, claim)
		switch {
		case err != nil && isUnavailable(err):
			for _, c := range batch {
				c.err = storeErr(err, fmt.Sprintf("job %s", c.in.f.Ref.ID))
			}
		case err != nil:
			alone = append(batch, alone...) // nothing was written: each on its own, repeats last
		default:
			for _, c := range batch {
				n := min(c.in.c.Limit, len(claimed))
				c.out.claimed, claimed = claimed[:n:n], claimed[n:]
				if j := done[c.in.f.Ref.ID]; j != nil {
					c.out.j = j
				} else {
					c.out.j, c.err = unfinished(ctx, db.pool, c.in.f)
				}
			}
		}
	}
	for _, c := range alone {
		c.out.j, c.out.claimed, c.err = db.finishAndClaimOne(ctx, c.in.f, c.in.c)
	}
}

// apartRepeats splits a batch's calls into those for distinct keys, in
// order, and the repeats of a key already among them, which are answered
// one by one after the rest.
func apartRepeats[In, Out any](calls []*batchCall[In, Out], key func(In) string) (batch, alone []*batchCall[In, Out]) {
	seen := map[string]bool{}
	for _, c := range calls {
		k := key(c.in)
		if seen[k] {
			alone = append(alone, c)
			continue
		}
		seen[k] = true
		batch = append(batch, c)
	}
	return batch, alone
}

// finishManyWith begins a statement that ends the attempts of ps, each a
// different job: the CTE f, one UPDATE for all (each row still fenced on
// its attempt), and ins, one INSERT of the records of the finishes that
// applied. args are their arguments, $1 to $12.
func finishManyWith(ps []runbooker.FinishParams) (q string, args []any) {
	n := len(ps)
	ids, statuses, excs := make([]string, n), make([]string, n), make([]string, n)
	attempts, nows, starts := make([]int32, n), make([]int64, n), make([]*int64, n)
	var recs []runbooker.StreamRecord
	var owners []string
	for i, p := range ps {
		ids[i], attempts[i], statuses[i], excs[i] = p.Ref.ID, int32(p.Ref.Attempt), string(p.Status), cleanText(p.Exception)
		nows[i], starts[i] = nanos(p.Now.UTC()), nullNanos(p.StartedAt)
		for range p.Records {
			owners = append(owners, p.Ref.ID)
		}
		recs = append(recs, p.Records...)
	}
	a := toArrays(recs)
	q = `WITH f AS (UPDATE jobs SET status = r.status, exception = r.exc, ended_at = r.now,
			last_modified_at = r.now, lease_expires_at = NULL, started_at = coalesce(jobs.started_at, r.started)
			FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
				AS r(id, attempt, status, exc, now, started)
			WHERE jobs.id = r.id AND jobs.attempt = r.attempt AND jobs.status IN ` + heldStatuses + `
			RETURNING ` + qualified("jobs", jobCols) + `),
		ins AS (INSERT INTO stream_records (job_pk, seq, time, type, text, value)
			SELECT f.pk, x.seq, x.time, x.type, x.text, x.value
			FROM unnest($7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[])
				AS x(id, seq, time, type, text, value) JOIN f ON f.id = x.id
			ON CONFLICT (job_pk, seq) DO NOTHING)`
	return q, []any{ids, attempts, statuses, excs, nows, starts, owners, a.seqs, a.times, a.types, a.texts, a.values}
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
