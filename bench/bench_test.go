package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/agent"
	"github.com/runbooker/runbooker/engine"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
	"github.com/runbooker/runbooker/sandbox"
	"github.com/runbooker/runbooker/sqlite"
)

// testEnv starts a control plane of real parts (store, engine, built-in
// agent without isolation, HTTP on loopback): the bench needs nothing more
// than Env. The command's own Env, a full Main, is tested end to end in
// cmd/runbooker.
func testEnv(t *testing.T) Env {
	return Env{Start: func(ctx context.Context, s Server) (*ControlPlane, error) {
		var st runbooker.Store
		var err error
		if path, ok := strings.CutPrefix(s.DB, "sqlite:"); ok {
			st, err = sqlite.Open(ctx, path)
		} else {
			st, err = postgres.Open(ctx, s.DB, postgres.Config{})
		}
		if err != nil {
			return nil, err
		}
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		e := engine.New(st, engine.Config{LeaseTTL: s.LeaseTTL, Retention: s.Retention}, quiet)
		in := sandbox.ResolveInterpreters()
		in.TempRoot = t.TempDir()
		a := agent.New(&agent.Local{Engine: e, Group: runbooker.CloudGroup, WorkerID: "cloud-test"}, agent.Config{
			Capacity: s.Capacity, MaxRuntime: s.MaxRuntime, OutputCap: s.OutputCap,
			HeartbeatEvery: s.LeaseTTL / 3, Interpreters: in, Stops: e.Hub(),
		}, quiet)
		a.Start(ctx)
		srv := rbhttp.NewServer(e, rbhttp.Config{RunWait: s.RunWait}, quiet)
		closeAll := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Close(ctx)
			a.Stop(s.Drain)
			return st.Close()
		}
		if err := srv.Open("127.0.0.1:0", nil); err != nil {
			_ = closeAll()
			return nil, err
		}
		secret := runbooker.NewSecret()
		cred := &runbooker.Credential{ID: runbooker.NewID(), TenantID: runbooker.DefaultTenant, Name: "bench",
			Role: runbooker.RoleAdmin, SecretHash: runbooker.HashSecret(secret), CreatedAt: time.Now().UTC()}
		if err := e.Store().EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
			_ = closeAll()
			return nil, err
		}
		if err := e.Store().CreateCredential(ctx, cred); err != nil {
			_ = closeAll()
			return nil, err
		}
		return &ControlPlane{URL: "http://" + srv.Addr(), Credential: cred.ID + ":" + secret,
			Store: e.Store(), Engine: e, Close: closeAll}, nil
	}}
}

// runBench runs the bench with --json and small counts, as
// `runbooker bench --json --queue-jobs 600 --latency-jobs 20 --jobs 40`
// does, and returns its figures by name.
func runBench(t *testing.T, only, db string) map[string]Figure {
	t.Helper()
	var out, errb bytes.Buffer
	c := Config{JSON: true, QueueJobs: 600, Latency: 20, Jobs: 40, Lines: 1000, Concurrency: 4,
		IdleWorkers: 10, JobDir: t.TempDir(), Only: only, DB: db}
	if err := Run(context.Background(), c, testEnv(t), &out, &errb); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	var res struct {
		Engine  string   `json:"engine"`
		CPUs    int      `json:"cpus"`
		Figures []Figure `json:"figures"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench output is not JSON: %v\n%s", err, out.String())
	}
	if res.Engine == "" || res.CPUs < 1 {
		t.Errorf("bench output names engine %q and %d CPUs", res.Engine, res.CPUs)
	}
	figs := map[string]Figure{}
	for _, f := range res.Figures {
		figs[f.Name] = f
	}
	return figs
}

// ratioMatches reports whether f has a baseline and its ratio is its value
// over that baseline (to a thousandth).
func ratioMatches(f Figure) bool {
	return f.Baseline > 0 && math.Abs(f.Ratio-f.Value/f.Baseline) <= 1e-3*f.Ratio
}

// againstRawSpawn reports whether f is a rate set against raw spawns, met
// at 0.70 of theirs, as the throughput figures and their ceiling are.
func againstRawSpawn(f Figure) bool {
	return f.Unit == "jobs/s" && f.Value > 0 && ratioMatches(f) && f.Met == (f.Ratio >= 0.7)
}

// checkQueueFigures requires both queue-only figures, each a real rate,
// against SQLite's 5,000 a second, or on PostgreSQL against River's figure,
// which is not met without River measured beside it.
func checkQueueFigures(t *testing.T, figs map[string]Figure, pg bool) {
	t.Helper()
	for _, name := range []string{"queue only (no processes)", "queue only, created in batches of 500"} {
		f, ok := figs[name]
		if !ok {
			t.Fatalf("bench did not report %q; got %v", name, figs)
		}
		if f.Unit != "jobs/s" || f.Value <= 0 {
			t.Errorf("figure %q = %+v", name, f)
		}
		if !pg && (f.Met != (f.Value >= 5000) || f.Target != "≥ 5,000 jobs/s") {
			t.Errorf("SQLite figure %q = %+v", name, f)
		}
		if pg && (f.Met || f.Target != "ahead of River (--peers river)") {
			t.Errorf("PostgreSQL figure %q without a peer = %+v", name, f)
		}
	}
}

// The bench's figures come from real runs: every queued job is finished
// (queueRun fails otherwise) and ratios are against a measured baseline.
func TestBenchReportsQueueAndSyncFiguresOnSQLite(t *testing.T) {
	figs := runBench(t, "queue,sync", "")
	checkQueueFigures(t, figs, false)
	s, ok := figs["sync run p50 (trivial bash)"]
	if !ok || s.Value <= 0 || !ratioMatches(s) {
		t.Errorf("sync figure = %+v (present %v)", s, ok)
	}
	if len(figs) != 3 {
		t.Errorf("--only queue,sync reported %d figures: %v", len(figs), figs)
	}
}

// On PostgreSQL the sync figure comes with the server's own floor for a
// run's finish: a one-row commit after a pause, against back to back.
func TestBenchReportsTheCommitFloorWithTheSyncFigureOnPostgres(t *testing.T) {
	pgtest.Require(t)
	figs := runBench(t, "sync", pgtest.AdminURL())
	if s, ok := figs["sync run p50 (trivial bash)"]; !ok || s.Value <= 0 || s.Baseline <= 0 {
		t.Errorf("sync figure = %+v (present %v)", s, ok)
	}
	c, ok := figs["PostgreSQL one-row commit p50 after 2ms idle"]
	if !ok || c.Unit != "ms" || c.Value <= 0 || !ratioMatches(c) {
		t.Errorf("commit figure = %+v (present %v); figures %v", c, ok, figs)
	}
	if len(figs) != 2 {
		t.Errorf("--only sync on PostgreSQL reported %d figures: %v", len(figs), figs)
	}
}

// The remote step measures a hybrid worker over loopback HTTP: its
// dispatch latency and its throughput against raw spawns, each job of
// which really ran (trivialJobs fails otherwise).
func TestBenchReportsRemoteWorkerFigures(t *testing.T) {
	figs := runBench(t, "remote", "")
	for _, name := range []string{"dispatch p50 (remote worker, loopback)", "dispatch p99 (remote worker, loopback)"} {
		if f, ok := figs[name]; !ok || f.Unit != "ms" || f.Value <= 0 {
			t.Errorf("figure %q = %+v (present %v)", name, f, ok)
		}
	}
	tp, ok := figs["throughput, 40 trivial jobs (remote worker, loopback)"]
	if !ok || !againstRawSpawn(tp) {
		t.Errorf("remote throughput figure = %+v (present %v); figures %v", tp, ok, figs)
	}
	if len(figs) != 3 {
		t.Errorf("--only remote reported %d figures: %v", len(figs), figs)
	}
}

// On PostgreSQL the throughput figure comes with PostgreSQL's CPU floor,
// set against what 0.70 of raw spawn leaves the server and the database.
func TestBenchReportsTheCPUFloorWithTheThroughputFigureOnPostgres(t *testing.T) {
	pgtest.Require(t)
	if _, err := postgres.Postmaster(context.Background(), pgtest.AdminURL()); err != nil {
		t.Skipf("the test server's processes cannot be read here: %v", err)
	}
	figs := runBench(t, "throughput", pgtest.AdminURL())
	if tp, ok := figs["throughput, 40 trivial jobs"]; !ok || !againstRawSpawn(tp) {
		t.Errorf("throughput figure = %+v (present %v)", tp, ok)
	}
	f, ok := figs["PostgreSQL CPU floor a job (durable create and finish)"]
	if !ok || f.Unit != "ms" || f.Value <= 0 || (f.Baseline > 0 && !ratioMatches(f)) {
		t.Errorf("floor figure = %+v (present %v); figures %v", f, ok, figs)
	}
	c, ok := figs["throughput ceiling at PostgreSQL's CPU floor"]
	if !ok || !againstRawSpawn(c) {
		t.Errorf("ceiling figure = %+v (present %v); figures %v", c, ok, figs)
	}
	if len(figs) != 3 {
		t.Errorf("--only throughput on PostgreSQL reported %d figures: %v", len(figs), figs)
	}
}

// The ceiling is raw spawn's CPU over the least a job can cost: its own
// processes, a spawn's cost in the spawning process and the floor.
func TestFloorCeiling(t *testing.T) {
	us := time.Microsecond
	raw := jobCPU{self: 300 * us, procs: 1600 * us}
	ratio, room := floorCeiling(raw, 1800*us, 400*us) // least: 2,500 µs
	if math.Abs(ratio-0.76) > 1e-9 || room != 1900*us*10/7-2500*us {
		t.Errorf("ceiling %v, room %v; want 0.76 and %v", ratio, room, 1900*us*10/7-2500*us)
	}
	// Processes that cost as much as 0.70 allows a whole job leave nothing.
	if ratio, room := floorCeiling(raw, 2400*us, 400*us); ratio >= 0.7 || room >= 0 {
		t.Errorf("ceiling %v, room %v; want below 0.70 and negative", ratio, room)
	}
	if ratio, room := floorCeiling(jobCPU{}, 0, 0); ratio != 0 || room != 0 {
		t.Errorf("nothing measured: ceiling %v, room %v", ratio, room)
	}
}

// cpuFloor counts real work on both sides (a thousand durable commits cost
// the server far more than /proc's 10 ms tick) and drops its table again.
func TestCPUFloorMeasuresBothSidesAndCleansUp(t *testing.T) {
	pgtest.Require(t)
	ctx := context.Background()
	url := pgtest.Database(t)
	pm, err := postgres.Postmaster(ctx, url)
	if err != nil {
		t.Skipf("the test server's processes cannot be read here: %v", err)
	}
	client, server, err := cpuFloor(ctx, url, pm, floorJobs, 4)
	if err != nil {
		t.Fatal(err)
	}
	if client <= 0 || server <= 0 || server > time.Second {
		t.Errorf("CPU floor a job: %v here, %v in the server", client, server)
	}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var left *string
	if err := c.QueryRow(ctx, `SELECT to_regclass('bench_floor_probe')::text`).Scan(&left); err != nil || left != nil {
		t.Errorf("the probe table is left behind (%v, %v)", left, err)
	}
}

func TestBenchReportsQueueFiguresOnPostgres(t *testing.T) {
	pgtest.Require(t)
	checkQueueFigures(t, runBench(t, "queue", pgtest.AdminURL()), true)
}

// Without --json the figures are a table; dispatch latency is read from
// the jobs' own timestamps, through the built-in group.
func TestBenchPrintsDispatchFiguresAsATable(t *testing.T) {
	var out, errb bytes.Buffer
	c := Config{Latency: 20, Lines: 1, Concurrency: 4, JobDir: t.TempDir(), Only: "dispatch"}
	if err := Run(context.Background(), c, testEnv(t), &out, &errb); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "figure") || !strings.Contains(lines[0], "machine baseline") {
		t.Fatalf("table:\n%s", out.String())
	}
	for i, name := range []string{"dispatch p50 (built-in group)", "dispatch p99 (built-in group)"} {
		if l := lines[i+1]; !strings.HasPrefix(l, name) || !strings.Contains(l, " ms ") || !strings.Contains(l, "≤ ") {
			t.Errorf("row %d: %q", i+1, l)
		}
	}
	if !strings.Contains(errb.String(), "bench: dispatch latency: 20 jobs") {
		t.Errorf("progress: %q", errb.String())
	}
}

// A bench without a way to start a separate server says so instead of
// measuring something else.
func TestBenchIdleFigureNeedsASeparateServer(t *testing.T) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), Config{Only: "idle", IdleWorkers: 1, Latency: 1, Lines: 1, JobDir: t.TempDir()}, testEnv(t), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "separate server") {
		t.Errorf("idle bench without Env.Serve: %v", err)
	}
}

func TestNumberHasFourSignificantDigitsAndNoExponent(t *testing.T) {
	for v, want := range map[float64]string{3.389: "3.389", 6.3054: "6.305", 12345.6: "12346", 0.5: "0.5", 1000: "1000", 0.000125: "0.000125"} {
		if got := number(v); got != want {
			t.Errorf("number(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3}
	for p, want := range map[float64]time.Duration{0: 1, 0.5: 3, 0.99: 4, 1: 5} {
		if got := Percentile(d, p); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("Percentile of nothing is not 0")
	}
	if d[0] != 5 {
		t.Error("Percentile sorted its argument")
	}
}

// The schedules figure measures dispatch with 10,000 job schedules stored
// next to dispatch without them, on the same server. Whether it is met is
// the bench's report, not this test's: a timing goal is never asserted.
func TestBenchScheduleFigureHasItsBaseline(t *testing.T) {
	figs := runBench(t, "schedules", "")
	f, ok := figs["dispatch p50 with 10000 job schedules"]
	if !ok || f.Value <= 0 || f.Baseline <= 0 || f.Ratio <= 0 {
		t.Fatalf("schedules figure: %+v (all: %v)", f, figs)
	}
	pass, ok := figs["scheduler pass p50 over 10000 job schedules, none due"]
	if !ok || pass.Value <= 0 {
		t.Fatalf("scheduler pass figure: %+v", pass)
	}
	t.Logf("%+v; %+v", f, pass)
}

// runScale runs the scale step at tiny sizes and returns its figures.
func runScale(t *testing.T, db string) map[string]Figure {
	t.Helper()
	var out, errb bytes.Buffer
	c := Config{JSON: true, Latency: 5, Lines: 1, Concurrency: 2, JobDir: t.TempDir(), Only: "scale",
		Scale: "300,1500", ScaleQueued: 200, DB: db}
	if err := Run(context.Background(), c, testEnv(t), &out, &errb); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	var res struct{ Figures []Figure }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench output is not JSON: %v\n%s", err, out.String())
	}
	figs := map[string]Figure{}
	for _, f := range res.Figures {
		figs[f.Name] = f
	}
	if !strings.Contains(errb.String(), "bench: scale: 1200 jobs loaded") {
		t.Errorf("progress: %q", errb.String())
	}
	return figs
}

// checkScaleFigures requires every read at every size, growth against the
// smallest size, a purge of everything loaded with dispatch measured
// meanwhile, and the memory figures. Whether the targets are met is the
// bench's report, not this test's.
func checkScaleFigures(t *testing.T, figs map[string]Figure) {
	t.Helper()
	reads := []string{"job list, no filter", "job list, 2nd page (cursor)", "job list, status Stopped (rare)",
		"job list, status Activating+Running+Stopping (none)", "job list, status Completed+Failed (99 %)",
		"job list, runbook (rare)", "job list, run on (rare)", "job list, caller (rare)",
		"job list, created within one day", "job list, matches nothing (runbook never run)",
		"job records, all 1000 of one job", "job records, a page of 100"}
	// Met: a ratio of at most 3, or at most 0.5 ms more (figures are in
	// whole microseconds, so the slack is judged a microsecond either way).
	grows := func(f Figure) bool { return f.Ratio > 3 && f.Value-f.Baseline > 0.5 }
	near := func(f Figure) bool { return math.Abs(f.Value-f.Baseline-0.5) < 0.002 }
	for _, r := range reads {
		small, ok := figs[r+", 300 jobs"]
		if !ok || small.Unit != "ms" || small.Value <= 0 || small.Baseline != 0 || !small.Met {
			t.Errorf("%s at 300 jobs: %+v (present %v)", r, small, ok)
		}
		big, ok := figs[r+", 1500 jobs"]
		if !ok || big.Value <= 0 || big.Baseline != small.Value || big.Ratio <= 0 ||
			math.Abs(big.Ratio-big.Value/big.Baseline) > 0.01*big.Ratio+0.01 || (big.Met == grows(big) && !near(big)) {
			t.Errorf("%s at 1500 jobs: %+v (present %v)", r, big, ok)
		}
	}
	var purge, worst Figure
	for name, f := range figs {
		var n int
		if _, err := fmt.Sscanf(name, "dispatch max during the purge (of %d jobs)", &n); err == nil {
			worst = f
			if p99 := figs["dispatch p99 during the purge (built-in group)"]; n < 1 || f.Value < p99.Value || f.Met != (f.Value <= 1000) {
				t.Errorf("%s: %+v, p99 %v", name, f, p99.Value)
			}
		}
		if _, err := fmt.Sscanf(name, "retention purge of %d jobs", &n); err == nil {
			purge = f
			// Everything loaded is past retention but the Suspended
			// jobs (0.2 %); the job of 1000 records is terminal too.
			if n < 1470 || n > 1501 {
				t.Errorf("purged %d of the 1501 jobs loaded", n)
			}
		}
	}
	// Its rate is read against the bulk load of the same jobs.
	if purge.Unit != "jobs/s" || purge.Value <= 0 || purge.Baseline <= 0 ||
		math.Abs(purge.Ratio-purge.Value/purge.Baseline) > 0.01*purge.Ratio || purge.Met != (purge.Ratio >= 0.5) {
		t.Errorf("purge figure: %+v", purge)
	}
	if worst.Unit != "ms" || worst.Baseline <= 0 {
		t.Errorf("dispatch max during the purge: %+v", worst)
	}
	for _, name := range []string{"dispatch p50 during the purge (built-in group)", "dispatch p99 during the purge (built-in group)"} {
		if f, ok := figs[name]; !ok || f.Value <= 0 || f.Baseline <= 0 {
			t.Errorf("%s: %+v (present %v)", name, f, ok)
		}
	}
	for _, name := range []string{"Go heap in use, 200 jobs queued (bench process = server)", "RSS, 200 jobs queued (bench process = server)"} {
		if f, ok := figs[name]; !ok || f.Unit != "MB" || f.Value <= 0 || f.Baseline <= 0 {
			t.Errorf("%s: %+v (present %v)", name, f, ok)
		}
	}
	if want := 2*len(reads) + 4 + 2; len(figs) != want {
		t.Errorf("scale reported %d figures, want %d", len(figs), want)
	}
}

func TestBenchScaleFiguresOnSQLite(t *testing.T) {
	checkScaleFigures(t, runScale(t, ""))
}

func TestBenchScaleFiguresOnPostgres(t *testing.T) {
	pgtest.Require(t)
	checkScaleFigures(t, runScale(t, pgtest.AdminURL()))
}

func TestParseScaleSizes(t *testing.T) {
	if got, err := parseSizes(" 10000, 100_000,1000000 "); err != nil || len(got) != 3 || got[1] != 100000 {
		t.Errorf("parseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "10,5", "10,10", "x", "0"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
}
