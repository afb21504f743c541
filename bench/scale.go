package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	_ "modernc.org/sqlite" // the loader's own connection to the SQLite file
)

// The scale step: how the cost of reading grows with the jobs stored. It
// loads realistic jobs in steps (Config.Scale, e.g. 10k, 100k, 1M) straight
// into the database through a connection of its own, measures the job-list
// queries (each filter of runbooker.JobFilter, the second page, a filter
// that matches nothing) and the stream read of one job at each size, then
// the retention purge of everything loaded while dispatch latency is
// measured, and last the server's memory with jobs queued on a group no
// worker serves. Growth is a ratio: the cost at a size ÷ the cost at the
// smallest size, same run, same machine.

// scaleRecordJob is how many records the job whose stream read is measured
// holds.
const scaleRecordJob = 1000

// scaleRuns is how many times each query is timed at each size (after
// scaleWarmup untimed runs); the figure is the median (timeQueries).
const scaleRuns, scaleWarmup = 30, 3

// scaleSlack is growth too small to mean anything: a read that finds
// nothing in an index costs the server some 30 µs at any size, and its
// round trip on a shared machine varied from 0.2 to 1.2 ms between runs,
// which made its ratio to the smallest size anything from 0.6 to 2.9. A
// read that scans grows by tens of milliseconds.
const scaleSlack = 500 * time.Microsecond

// scaleBudget bounds the time spent on one slow query at one size.
const scaleBudget = 3 * time.Second

// Value spreads of the loaded jobs. A filter figure selects a value that
// scaleRare jobs of each load step hold (a runbook rarely run, a caller
// rarely seen, a small hybrid group, the Stopped status): a full page at
// every size, ever sparser as the history grows, so that a query walking
// the listing index instead of an index of its own reads ever more rows
// for the same page.
const scaleRare = 150

const (
	scaleRareRunbook = "org_scale_rare"
	scaleRareCaller  = "svc-rare@contoso.com"
	scaleRareGroup   = "hybrid-lab"
	scaleNoRunbook   = "org_scale_never_run"
)

// parseSizes reads --scale: job counts, comma-separated, growing.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--scale: %q is not a job count", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("--scale: sizes must grow (%d after %d)", n, out[len(out)-1])
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--scale: no sizes")
	}
	return out, nil
}

// scaleQuery is one read measured at each size.
type scaleQuery struct {
	name string
	run  func(ctx context.Context) (int, error) // returns how many items it read
}

func (b *harness) scale(ctx context.Context) ([]Figure, error) {
	if b.cfg.Scale == "" {
		return nil, nil
	}
	sizes, err := parseSizes(b.cfg.Scale)
	if err != nil {
		return nil, err
	}
	ld, err := openLoader(ctx, b.cfg.DB)
	if err != nil {
		return nil, err
	}
	closed := false
	closeLoader := func() {
		if !closed {
			closed = true
			ld.close()
		}
	}
	defer closeLoader()

	// Every step's jobs span the same 30 days, ending 25 hours ago: past
	// the bench server's 24-hour retention, so the purge at the end
	// deletes every terminal job loaded.
	end := time.Now().Add(-25 * time.Hour)
	start := end.Add(-30 * 24 * time.Hour)
	st := b.cp.Store

	big := scaleJobAt(0, 1, start, end)
	big.status, big.id = runbooker.StatusCompleted, runbooker.NewUUID()
	if err := ld.load(ctx, []scaleJob{big}, scaleRecordJob); err != nil {
		return nil, fmt.Errorf("loading the job with %d records: %w", scaleRecordJob, err)
	}
	day := runbooker.JobFilter{CreatedAfter: start.Add(15 * 24 * time.Hour), CreatedBefore: start.Add(16 * 24 * time.Hour)}
	list := func(f runbooker.JobFilter) func(ctx context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			p, err := st.ListJobs(ctx, b.tenant, f)
			return len(p.Jobs), err
		}
	}
	var cursor string // of the first page, at the size being measured
	queries := []scaleQuery{
		{"job list, no filter", list(runbooker.JobFilter{})},
		{"job list, 2nd page (cursor)", func(ctx context.Context) (int, error) {
			if cursor == "" {
				p, err := st.ListJobs(ctx, b.tenant, runbooker.JobFilter{})
				if err != nil {
					return 0, err
				}
				cursor = p.Next
			}
			p, err := st.ListJobs(ctx, b.tenant, runbooker.JobFilter{Cursor: cursor})
			return len(p.Jobs), err
		}},
		{"job list, status Stopped (rare)", list(runbooker.JobFilter{Status: []runbooker.JobStatus{runbooker.StatusStopped}})},
		{"job list, status Activating+Running+Stopping (none)", list(runbooker.JobFilter{Status: []runbooker.JobStatus{
			runbooker.StatusActivating, runbooker.StatusRunning, runbooker.StatusStopping}})},
		{"job list, status Completed+Failed (99 %)", list(runbooker.JobFilter{Status: []runbooker.JobStatus{
			runbooker.StatusCompleted, runbooker.StatusFailed}})},
		{"job list, runbook (rare)", list(runbooker.JobFilter{RunbookName: scaleRareRunbook})},
		{"job list, run on (rare)", list(runbooker.JobFilter{RunOn: scaleRareGroup})},
		{"job list, caller (rare)", list(runbooker.JobFilter{Caller: scaleRareCaller})},
		{"job list, created within one day", list(day)},
		{"job list, matches nothing (runbook never run)", list(runbooker.JobFilter{RunbookName: scaleNoRunbook})},
		{fmt.Sprintf("job records, all %d of one job", scaleRecordJob), func(ctx context.Context) (int, error) {
			recs, err := st.Streams(ctx, b.tenant, big.id, runbooker.StreamFilter{})
			return len(recs), err
		}},
		{"job records, a page of 100", func(ctx context.Context) (int, error) {
			recs, err := st.Streams(ctx, b.tenant, big.id, runbooker.StreamFilter{After: scaleRecordJob / 2, Limit: 100})
			return len(recs), err
		}},
	}

	costs := make([][]time.Duration, len(queries)) // [query][size]
	loaded := 0
	var loading time.Duration // all steps' loads: the machine's bulk write rate of these jobs
	for _, n := range sizes {
		b.progress("scale: loading jobs %d to %d", loaded+1, n)
		t0 := time.Now()
		if err := b.loadJobs(ctx, ld, loaded, n, start, end); err != nil {
			return nil, err
		}
		took := time.Since(t0)
		loading += took
		b.progress("scale: %d jobs loaded in %s (%.0f jobs/s); measuring %d reads", n-loaded, took.Round(time.Millisecond),
			float64(n-loaded)/took.Seconds(), len(queries))
		loaded = n
		if err := ld.analyze(ctx); err != nil {
			return nil, err
		}
		cursor = ""
		d, err := timeQueries(ctx, queries)
		if err != nil {
			return nil, fmt.Errorf("scale: at %d jobs: %w", n, err)
		}
		for qi := range queries {
			costs[qi] = append(costs[qi], d[qi])
		}
	}

	var figs []Figure
	for qi, q := range queries {
		base := costs[qi][0]
		for si, n := range sizes {
			f := Figure{Name: fmt.Sprintf("%s, %d jobs", q.name, n), Value: ms(costs[qi][si]), Unit: "ms",
				Target: "growth baseline", Met: true}
			if si > 0 {
				f.Baseline = ms(base)
				f.Ratio = float64(costs[qi][si]) / float64(max(base, time.Microsecond))
				f.Target = fmt.Sprintf("≤ 3 × at %d jobs or +0.5 ms", sizes[0])
				f.Met = f.Ratio <= 3 || costs[qi][si]-base <= scaleSlack
			}
			figs = append(figs, f)
		}
	}

	// The loader's page cache is no part of the server's memory.
	closeLoader()
	pf, err := b.purgeFigures(ctx, loaded, float64(loaded)/loading.Seconds())
	if err != nil {
		return nil, err
	}
	figs = append(figs, pf...)
	mf, err := b.queuedMemory(ctx)
	if err != nil {
		return nil, err
	}
	return append(figs, mf...), nil
}

// timeQueries times each query scaleRuns times after scaleWarmup untimed
// runs, in turns (one run of each, then again), so that a busy moment of a
// shared machine falls on all of them alike, and returns the medians. A
// query slower than scaleBudget in all stops after five timed runs.
func timeQueries(ctx context.Context, qs []scaleQuery) ([]time.Duration, error) {
	d := make([][]time.Duration, len(qs))
	spent := make([]time.Duration, len(qs))
	for i := 0; i < scaleWarmup+scaleRuns; i++ {
		for qi, q := range qs {
			if len(d[qi]) >= 5 && spent[qi] > scaleBudget {
				continue
			}
			t0 := time.Now()
			if _, err := q.run(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
			took := time.Since(t0)
			spent[qi] += took
			if i >= scaleWarmup || took > scaleBudget/10 {
				d[qi] = append(d[qi], took) // a slow query needs no warm-up
			}
		}
	}
	out := make([]time.Duration, len(qs))
	for qi := range qs {
		out[qi] = Percentile(d[qi], 0.5)
	}
	return out, nil
}

// loadJobs stores jobs number from to to-1, in transactions of
// scaleChunk jobs, each terminal one with two records.
func (b *harness) loadJobs(ctx context.Context, ld loader, from, to int, start, end time.Time) error {
	const scaleChunk = 10000
	buf := make([]scaleJob, 0, scaleChunk)
	for g := from; g < to; g += scaleChunk {
		buf = buf[:0]
		for i := g; i < min(g+scaleChunk, to); i++ {
			buf = append(buf, scaleJobAt(i-from, to-from, start, end))
		}
		if err := ld.load(ctx, buf, 2); err != nil {
			return fmt.Errorf("scale: loading jobs: %w", err)
		}
	}
	return nil
}

// scaleJob is one loaded job's columns.
type scaleJob struct {
	id, runbook, version, lang, params, runOn, caller, worker string
	status                                                    runbooker.JobStatus
	reason, exception                                         string
	attempt, lost                                             int
	created, started, ended                                   int64 // unix ns; 0 for none
}

// splitmix64 spreads a job's number into the bits its values are drawn from.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

var scaleLangs = []string{string(runbooker.LangPowerShell), string(runbooker.LangPowerShell), string(runbooker.LangPython), string(runbooker.LangBash)}

// scaleJobAt is job number i of a step of n jobs spread evenly from start
// to end (creation order follows insertion order, as in life). Statuses:
// 90 % Completed, 10 % Failed, 0.2 % Suspended (lost three times), and
// scaleRare Stopped. Runbooks: 199 names alike and one run by scaleRare
// jobs of the step; callers likewise among 50; groups: cloud 80 %, two
// hybrid groups, and hybrid-lab with scaleRare jobs.
func scaleJobAt(i, n int, start, end time.Time) scaleJob {
	h := splitmix64(uint64(start.UnixNano()) ^ uint64(i)<<20 ^ uint64(n))
	span := end.Sub(start).Nanoseconds()
	created := start.UnixNano() + span/int64(n)*int64(i)
	ms := uint64(created / 1e6)
	j := scaleJob{
		id: fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", ms>>16, ms&0xffff, h&0xfff, (h>>12)&0xfff, (h>>24)&0xffffffffffff),
		// Sixty-four versions: runbooks change now and then.
		version: fmt.Sprintf("%064x", (h>>8)%64),
		lang:    scaleLangs[h%4],
		params:  fmt.Sprintf(`{"UserPrincipalName":"user%d@contoso.com","Confirm":true}`, (h>>16)%5000),
		created: created, attempt: 1,
	}
	// Each rare value goes to scaleRare jobs of the step, evenly spread,
	// each to other jobs.
	every := max(n/scaleRare, 1)
	rare := func(k int) bool { return i%every == k%every && i/every < scaleRare }
	j.runbook = fmt.Sprintf("org_scale_%03d", (h>>32)%199)
	if rare(0) {
		j.runbook = scaleRareRunbook
	}
	j.caller = fmt.Sprintf("user%02d@contoso.com", (h>>42)%49)
	if rare(1) {
		j.caller = scaleRareCaller
	}
	switch g := (h >> 52) % 1000; {
	case rare(2):
		j.runOn = scaleRareGroup
	case g < 150:
		j.runOn = "hybrid-eu"
	case g < 200:
		j.runOn = "hybrid-us"
	default:
		j.runOn = runbooker.CloudGroup
	}
	j.worker = j.runOn + "-worker-" + strconv.Itoa(int(h>>60))
	j.started = created + int64(20*time.Millisecond) + int64(h>>40&0xffff)*1000
	switch s := (h >> 20) % 1000; {
	case rare(3):
		j.status = runbooker.StatusStopped
	case s < 2:
		j.status, j.reason, j.lost, j.worker = runbooker.StatusSuspended, "the worker was lost 3 times", 3, ""
	case s < 105:
		j.status, j.exception = runbooker.StatusFailed, "Get-MgUser: Resource 'user' does not exist or one of its queried reference-property objects are not present."
	default:
		j.status = runbooker.StatusCompleted
	}
	if j.status.Terminal() {
		j.ended = j.started + int64(time.Second) + int64(h%uint64(120*time.Second))
	}
	return j
}

// loader writes loaded jobs straight into the bench's database, beside the
// server's own connections.
type loader interface {
	// load stores jobs in one transaction, each terminal one with recs
	// Output records.
	load(ctx context.Context, js []scaleJob, recs int) error
	// analyze refreshes the planner's statistics, as autovacuum (PostgreSQL)
	// or PRAGMA optimize (SQLite) does on a live server.
	analyze(ctx context.Context) error
	close()
}

func openLoader(ctx context.Context, db string) (loader, error) {
	if isPostgresURL(db) {
		c, err := pgx.Connect(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("scale: connecting the loader: %w", err)
		}
		return &pgLoader{c: c}, nil
	}
	path, ok := strings.CutPrefix(db, "sqlite:")
	if !ok {
		return nil, fmt.Errorf("scale: cannot load jobs into %q", db)
	}
	// A page cache of 256 MB: the loader appends to every index of jobs at
	// once.
	d, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-262144)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(1)
	return &sqliteLoader{db: d}, nil
}

// jobLoadCols are the columns a loaded job sets, in scaleJob.args order.
var jobLoadCols = []string{"id", "tenant_id", "runbook_name", "runbook_version", "language", "parameters", "run_on", "caller",
	"status", "status_reason", "exception", "attempt", "lost_count", "worker_id", "created_at", "started_at", "ended_at",
	"last_modified_at", "log_verbose", "schedule_name", "catch_up"}

func (j *scaleJob) args(pg bool) []any {
	modified := j.ended
	if modified == 0 {
		modified = j.started + int64(time.Minute)
	}
	var ended any
	if j.ended != 0 {
		ended = j.ended
	}
	attempt, lost := any(j.attempt), any(j.lost)
	if pg {
		attempt, lost = int32(j.attempt), int32(j.lost)
	}
	return []any{j.id, runbooker.DefaultTenant, j.runbook, j.version, j.lang, j.params, j.runOn, j.caller,
		string(j.status), j.reason, j.exception, attempt, lost, j.worker, j.created, j.started, ended,
		modified, true, "", false}
}

type sqliteLoader struct{ db *sql.DB }

func (l *sqliteLoader) close() { l.db.Close() }

func (l *sqliteLoader) analyze(ctx context.Context) error {
	_, err := l.db.ExecContext(ctx, `ANALYZE`)
	return err
}

// sqliteRows is how many jobs one INSERT statement carries.
const sqliteRows = 200

func (l *sqliteLoader) load(ctx context.Context, js []scaleJob, recs int) error {
	tx, err := l.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var first int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(pk), 0) FROM jobs`).Scan(&first); err != nil {
		return err
	}
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, s := range stmts {
			s.Close()
		}
	}()
	args := make([]any, 0, sqliteRows*len(jobLoadCols))
	for len(js) > 0 {
		k := min(len(js), sqliteRows)
		args = args[:0]
		for i := range js[:k] {
			args = append(args, js[i].args(false)...)
		}
		s, ok := stmts[k]
		if !ok {
			row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(jobLoadCols)), ", ") + ")"
			s, err = tx.PrepareContext(ctx, `INSERT INTO jobs (`+strings.Join(jobLoadCols, ", ")+`) VALUES `+
				strings.TrimSuffix(strings.Repeat(row+", ", k), ", "))
			if err != nil {
				return err
			}
			stmts[k] = s
		}
		if _, err := s.ExecContext(ctx, args...); err != nil {
			return err
		}
		js = js[k:]
	}
	if _, err := tx.ExecContext(ctx, `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?2)
		INSERT INTO stream_records (job_pk, seq, time, type, text)
		SELECT j.pk, s.n, j.started_at + s.n * 1000000, 'Output', 'Processed item ' || s.n || ' of job ' || j.id
		FROM jobs j, s WHERE j.pk > ?1 AND j.ended_at IS NOT NULL`, first, recs); err != nil {
		return err
	}
	return tx.Commit()
}

type pgLoader struct{ c *pgx.Conn }

func (l *pgLoader) close() { _ = l.c.Close(context.Background()) }

func (l *pgLoader) analyze(ctx context.Context) error {
	_, err := l.c.Exec(ctx, `ANALYZE jobs, job_index, stream_records`)
	return err
}

func (l *pgLoader) load(ctx context.Context, js []scaleJob, recs int) error {
	return pgx.BeginFunc(ctx, l.c, func(tx pgx.Tx) error {
		var first int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(pk), 0) FROM jobs`).Scan(&first); err != nil {
			return err
		}
		rows := make([][]any, len(js))
		for i := range js {
			rows[i] = js[i].args(true)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"jobs"}, jobLoadCols, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO stream_records (job_pk, seq, time, type, text)
			SELECT j.pk, s.n, j.started_at + s.n * 1000000, 'Output', 'Processed item ' || s.n || ' of job ' || j.id
			FROM jobs j, generate_series(1, $2::bigint) s(n) WHERE j.pk > $1 AND j.ended_at IS NOT NULL`, first, recs)
		return err
	})
}

// purgeFigures runs the retention purge of everything loaded (every job
// that ended more than a day ago: the bench server keeps jobs 24 hours)
// while trivial jobs are dispatched one at a time on the built-in group,
// and reports that dispatch latency against dispatch just before. The
// purge's rate is read against loadRate, the rate at which the same jobs
// were written in bulk in this run: deleting a job in short transactions
// that give way to dispatch should cost at most twice writing it.
func (b *harness) purgeFigures(ctx context.Context, loaded int, loadRate float64) ([]Figure, error) {
	n := max(b.cfg.Latency, 5)
	b.progress("scale: dispatch latency, %d jobs, without a purge", n)
	before, err := b.dispatchLatencies(ctx, n, nil)
	if err != nil {
		return nil, err
	}
	b.progress("scale: retention purge of the %d jobs loaded, dispatching meanwhile", loaded)
	done := make(chan struct{})
	var purged int
	var purgeErr error
	var took time.Duration
	go func() {
		defer close(done)
		t0 := time.Now()
		purged, purgeErr = engine.NewMaintenance(b.cp.Engine).Purge(ctx)
		took = time.Since(t0)
	}()
	during, err := b.dispatchLatencies(ctx, 0, done)
	<-done
	if err != nil {
		return nil, err
	}
	if purgeErr != nil {
		return nil, fmt.Errorf("scale: purge: %w", purgeErr)
	}
	b.progress("scale: purged %d jobs in %s; %d jobs dispatched meanwhile", purged, took.Round(time.Millisecond), len(during))
	p50, p99, worst := Percentile(during, 0.5), Percentile(during, 0.99), Percentile(during, 1)
	b50, b99, bworst := Percentile(before, 0.5), Percentile(before, 0.99), Percentile(before, 1)
	rate := float64(purged) / took.Seconds()
	ratio := rate / max(loadRate, 1)
	return []Figure{
		{Name: fmt.Sprintf("retention purge of %d jobs", purged), Value: rate, Unit: "jobs/s", Baseline: loadRate, Ratio: ratio,
			Target: "≥ 0.5 × bulk load of the same jobs", Met: ratio >= 0.5 && purged >= loaded*99/100},
		{Name: "dispatch p50 during the purge (built-in group)", Value: ms(p50), Unit: "ms", Baseline: ms(b50),
			Ratio: float64(p50) / float64(max(b50, time.Microsecond)), Target: "≤ 5 ms", Met: p50 <= 5*time.Millisecond},
		{Name: "dispatch p99 during the purge (built-in group)", Value: ms(p99), Unit: "ms", Baseline: ms(b99),
			Ratio: float64(p99) / float64(max(b99, time.Microsecond)), Target: "≤ 25 ms", Met: p99 <= 25*time.Millisecond},
		// Over a few hundred samples the p99 is the second or third
		// largest: a job that missed its handover and waited for a retry
		// (seconds: a lease, a poll) would hide behind it.
		{Name: fmt.Sprintf("dispatch max during the purge (of %d jobs)", len(during)), Value: ms(worst), Unit: "ms", Baseline: ms(bworst),
			Ratio: float64(worst) / float64(max(bworst, time.Microsecond)), Target: "≤ 1 s (no job left to a retry)", Met: worst <= time.Second},
	}, nil
}

// dispatchLatencies runs trivial jobs on the built-in group one at a time
// and returns created → process started of each: n of them, or, with
// until, as many as finish before until is closed (at least one).
func (b *harness) dispatchLatencies(ctx context.Context, n int, until <-chan struct{}) ([]time.Duration, error) {
	e := b.cp.Engine
	var lat []time.Duration
	for i := 0; ; i++ {
		if until == nil && i >= n {
			break
		}
		if until != nil && i > 0 {
			select {
			case <-until:
				return lat, nil
			default:
			}
		}
		j, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: b.tenant, RunbookName: "org_bench_trivial", Caller: "bench"})
		if err != nil {
			return nil, err
		}
		if j, err = e.Wait(ctx, b.tenant, j.ID); err != nil {
			return nil, err
		}
		if j.Status != runbooker.StatusCompleted || j.StartedAt.IsZero() {
			return nil, fmt.Errorf("bench job %s ended %s (%s)", j.ID, j.Status, j.Exception)
		}
		lat = append(lat, j.StartedAt.Sub(j.CreatedAt))
	}
	return lat, nil
}

// queuedMemory: the bench process's memory (it is the server: the control
// plane runs in it) with ScaleQueued jobs queued on a group no worker
// serves, against just before.
func (b *harness) queuedMemory(ctx context.Context) ([]Figure, error) {
	n := b.cfg.ScaleQueued
	if n <= 0 {
		return nil, nil
	}
	b.progress("scale: memory with %d jobs queued on a group no worker serves", n)
	e := b.cp.Engine
	const group = "bench-unserved"
	if _, err := e.CreateGroup(ctx, &runbooker.WorkerGroup{TenantID: b.tenant, Name: group}); err != nil {
		return nil, fmt.Errorf("creating the unserved group: %w", err)
	}
	heap0, rss0 := memory()
	req := engine.CreateJobParams{TenantID: b.tenant, RunbookName: "org_bench_trivial", RunOn: group, Caller: "bench"}
	for done := 0; done < n; {
		k := min(1000, n-done)
		ps := make([]engine.CreateJobParams, k)
		for i := range ps {
			ps[i] = req
		}
		if _, err := e.CreateJobs(ctx, ps); err != nil {
			return nil, err
		}
		done += k
	}
	// The queue is read once, as the portal and metrics do.
	if _, err := b.cp.Store.QueueStats(ctx); err != nil {
		return nil, err
	}
	heap, rss := memory()
	const mb = 1 << 20
	perJob := 1024.0 * float64(n) // a kilobyte a queued job at most
	return []Figure{
		{Name: fmt.Sprintf("Go heap in use, %d jobs queued (bench process = server)", n), Value: float64(heap) / mb, Unit: "MB",
			Baseline: float64(heap0) / mb, Ratio: float64(heap) / float64(max(heap0, 1)),
			Target: "≤ +1 KB a queued job", Met: float64(heap)-float64(heap0) <= perJob},
		{Name: fmt.Sprintf("RSS, %d jobs queued (bench process = server)", n), Value: float64(rss) / mb, Unit: "MB",
			Baseline: float64(rss0) / mb, Ratio: float64(rss) / float64(max(rss0, 1)),
			Target: "≤ +1 KB a queued job", Met: float64(rss)-float64(rss0) <= perJob},
	}, nil
}

var memMu sync.Mutex

// memory returns the Go heap in use after a collection, and the process's
// resident set (VmRSS; 0 where /proc is missing) once the runtime has
// returned to the system what the collection freed: what the process keeps,
// not the garbage of the work just done, which the runtime's scavenger
// would return a little later anyway (readings taken without it varied by
// ±10 MB between runs of the same binary).
func memory() (heap, rss uint64) {
	memMu.Lock()
	defer memMu.Unlock()
	debug.FreeOSMemory() // a collection, then the freed pages returned
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				rss = kb * 1024
			}
		}
	}
	return m.HeapInuse, rss
}
