// Package bench measures Runbooker against the performance targets of
// ARCHITECTURE.md §9: the figures `runbooker bench` prints. Each figure is
// measured next to a baseline of the same machine in the same run (a bare
// interpreter start, raw spawns, output to /dev/null), so that ratios
// compare across machines.
//
// The package does not build a control plane itself: the binary around it
// (cmd/runbooker) passes an Env that starts one exactly as `runbooker
// serve` does, job isolation included, so the bench measures what users
// run.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/sandbox"
)

// Figure is one measured figure, its machine baseline from the same run,
// and the ARCHITECTURE.md §9 target it answers.
type Figure struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline float64 `json:"baseline,omitempty"` // the machine's own limit, same unit
	Ratio    float64 `json:"ratio,omitempty"`    // value / baseline
	Target   string  `json:"target"`
	Met      bool    `json:"met"`
}

// Config is a bench run's settings: the flags of `runbooker bench`.
type Config struct {
	JSON        bool   // print figures as JSON instead of a table
	Jobs        int    // trivial jobs for the throughput figure
	Latency     int    // jobs for the dispatch and sync-run latency figures
	Lines       int    // lines printed by the big-output runbook
	QueueJobs   int    // jobs for the queue-only figures
	Concurrency int    // built-in group capacity and raw spawn concurrency
	DataDir     string // "": a fresh temp dir, removed afterwards
	DB          string // "": SQLite in the data dir; a PostgreSQL URL: a fresh database on that server
	Only        string // comma-separated figures to run; "": all
	IdleWorkers int    // simulated idle long-polling workers
	JobDir      string // where job directories are made (as serve --job-dir)
	Scale       string // job counts of the scale figures, comma-separated and growing (scale.go)
	ScaleQueued int    // jobs queued for the scale step's memory figure
	WarmBash    int    // bash processes kept started ahead of their jobs (as serve --warm-bash)
	// Peers are other job queues measured on the queue-only work in the
	// same run (peers.go): "river" or "river=PATH"; PostgreSQL only.
	Peers string

	dbServer string // DB as given: the server peers make their databases on
	peers    []peer // Peers, resolved
}

// Server is the control plane a bench run asks Env.Start for.
type Server struct {
	DataDir    string
	DB         string // sqlite:PATH or postgres://…
	Capacity   int    // jobs the built-in group runs at once
	JobDir     string // as serve --job-dir
	WarmBash   int    // as serve --warm-bash
	RunWait    time.Duration
	LeaseTTL   time.Duration
	Retention  time.Duration
	MaxRuntime time.Duration
	OutputCap  int64
	Drain      time.Duration
}

// ControlPlane is a running control plane listening on loopback.
type ControlPlane struct {
	URL        string
	Credential string // "ID:SECRET" of an admin credential of the default tenant
	Store      runbooker.Store
	Engine     *engine.Engine
	Close      func() error
}

// Env is what a bench run needs from the binary around it. cmd/runbooker
// provides it, so that this package never imports the wiring.
type Env struct {
	// Start starts a control plane in this process, built as `runbooker
	// serve` builds one (the built-in group's jobs isolated as far as the
	// machine allows), with an admin credential of the default tenant.
	Start func(ctx context.Context, s Server) (*ControlPlane, error)
	// CreateGroup creates a worker group in a data directory (or database)
	// while no server runs on it, and returns its registration token.
	// Only the idle figure needs it.
	CreateGroup func(ctx context.Context, dataDir, db string, g *runbooker.WorkerGroup) (string, error)
	// Serve returns the command that runs `runbooker serve args…` as a
	// separate process. Only the idle figure needs it.
	Serve func(ctx context.Context, args ...string) (*exec.Cmd, error)
	// Jobs sets up the interpreters of the remote figure's hybrid worker as
	// `runbooker worker` does (jobs isolated as far as the machine allows,
	// directories under jobDir, warm bash processes); nil: plain
	// interpreters with warm ones, in the system's temp directory.
	Jobs func(jobDir string, warmBash int) (sandbox.Interpreters, error)
}

// Run measures the figures c selects on a control plane env starts, and
// writes them to stdout as a table (or JSON); progress goes to log.
func Run(ctx context.Context, c Config, env Env, stdout, log io.Writer) error {
	if c.DataDir == "" {
		dir, err := os.MkdirTemp("", "runbooker-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.DataDir = dir
	}
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "bench.db")
	}
	c.dbServer = c.DB
	if c.Peers != "" {
		if !isPostgresURL(c.DB) {
			return fmt.Errorf("--peers: the peers run on PostgreSQL only; give --db postgres://…")
		}
		for _, spec := range strings.Split(c.Peers, ",") {
			name, prog, err := peerProgram(ctx, strings.TrimSpace(spec), c.DataDir)
			if err != nil {
				return err
			}
			c.peers = append(c.peers, peer{name, prog})
		}
	}
	db, dropDB, err := database(ctx, c.DB)
	if err != nil {
		return err
	}
	defer dropDB()
	c.DB = db
	h, err := newHarness(ctx, c, env, log)
	if err != nil {
		return err
	}
	defer h.close()
	figs, err := h.runAll(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"engine": postgres.RedactURL(c.DB), "cpus": runtime.NumCPU(), "figures": figs})
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tvalue\tmachine baseline\tratio\ttarget\tmet\n")
	for _, f := range figs {
		base, ratio := "", ""
		if f.Baseline != 0 {
			base = number(f.Baseline) + " " + f.Unit
			ratio = fmt.Sprintf("%.2f", f.Ratio)
		}
		met := "yes"
		if !f.Met {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n", f.Name, number(f.Value), f.Unit, base, ratio, f.Target, met)
	}
	return tw.Flush()
}

// number prints a figure with four significant digits, never in exponent
// form.
func number(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// harness is one bench run on one control plane.
type harness struct {
	cfg    Config
	env    Env
	cp     *ControlPlane
	client *rbhttp.Client
	tenant string
	bash   string
	log    io.Writer
}

func newHarness(ctx context.Context, c Config, env Env, log io.Writer) (*harness, error) {
	cp, err := env.Start(ctx, Server{
		DataDir: c.DataDir, DB: c.DB, RunWait: 10 * time.Minute,
		LeaseTTL: 30 * time.Second, Retention: 24 * time.Hour, Capacity: c.Concurrency,
		MaxRuntime: time.Hour, OutputCap: 1 << 30, Drain: 5 * time.Second, JobDir: c.JobDir, WarmBash: c.WarmBash,
	})
	if err != nil {
		return nil, err
	}
	client, err := rbhttp.NewClient(cp.URL, cp.Credential, nil)
	if err != nil {
		_ = cp.Close()
		return nil, err
	}
	b := &harness{cfg: c, env: env, cp: cp, client: client, tenant: runbooker.DefaultTenant, bash: sandbox.ResolveInterpreters().Bash, log: log}
	for name, src := range map[string]string{
		"org_bench_trivial": "#!/bin/bash\necho ok\n",
		"org_bench_lines":   fmt.Sprintf("#!/bin/bash\nfor ((i=1; i<=%d; i++)); do echo \"line $i\"; done\n", c.Lines),
	} {
		if _, err := client.PutRunbook(ctx, name, runbooker.LangBash, []byte(src)); err != nil {
			_ = cp.Close()
			return nil, fmt.Errorf("uploading bench runbook %s: %w", name, err)
		}
	}
	return b, nil
}

func (b *harness) close() { _ = b.cp.Close() }

func (b *harness) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *harness) runAll(ctx context.Context) ([]Figure, error) {
	var figs []Figure
	steps := []struct {
		name string
		run  func(context.Context) ([]Figure, error)
	}{
		// Latency figures first, all on the same young database: the big
		// runs after them leave checkpoints and vacuums behind that would
		// be measured instead.
		{"dispatch", b.dispatch}, {"remote", b.remoteDispatch}, {"sync", b.syncRun},
		{"throughput", b.throughput}, {"queue", b.queueOnly}, {"output", b.bigOutput}, {"idle", b.idleWorkers},
		{"schedules", b.scheduleDispatch},
		// Last: it loads the database with up to millions of jobs.
		{"scale", b.scale},
	}
	only := map[string]bool{}
	for _, n := range strings.Split(b.cfg.Only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			only[n] = true
		}
	}
	for _, st := range steps {
		if len(only) > 0 && !only[st.name] {
			continue
		}
		step := st.run
		f, err := step(ctx)
		if err != nil {
			return nil, err
		}
		figs = append(figs, f...)
	}
	return figs, nil
}

// Percentile returns the p-quantile (0 to 1) of d, nearest rank below; 0
// for no durations.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// roundUS rounds d to the microsecond, as progress lines print times.
func roundUS(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

// dispatch: job created → process started, one job at a time so queueing
// does not count, read back from the job's own timestamps.
func (b *harness) dispatch(ctx context.Context) ([]Figure, error) {
	b.progress("dispatch latency: %d jobs, one at a time", b.cfg.Latency)
	return b.dispatchFigures(ctx, runbooker.CloudGroup, "built-in group")
}

// dispatchFigures runs Latency trivial jobs on group one at a time and
// reports the p50 and p99 of created → process started.
func (b *harness) dispatchFigures(ctx context.Context, group, label string) ([]Figure, error) {
	e := b.cp.Engine
	var lat []time.Duration
	for i := 0; i < b.cfg.Latency; i++ {
		j, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: b.tenant, RunbookName: "org_bench_trivial", RunOn: group, Caller: "bench"})
		if err != nil {
			return nil, err
		}
		j, err = e.Wait(ctx, b.tenant, j.ID)
		if err != nil {
			return nil, err
		}
		if j.Status != runbooker.StatusCompleted || j.StartedAt.IsZero() {
			return nil, fmt.Errorf("bench job %s ended %s (%s)", j.ID, j.Status, j.Exception)
		}
		lat = append(lat, j.StartedAt.Sub(j.CreatedAt))
	}
	p50, p99 := Percentile(lat, 0.5), Percentile(lat, 0.99)
	return []Figure{
		{Name: "dispatch p50 (" + label + ")", Value: ms(p50), Unit: "ms", Target: "≤ 5 ms", Met: p50 <= 5*time.Millisecond},
		{Name: "dispatch p99 (" + label + ")", Value: ms(p99), Unit: "ms", Target: "≤ 25 ms", Met: p99 <= 25*time.Millisecond},
	}, nil
}

// syncRun: a synchronous run over HTTP of `echo ok` against a bare
// `bash -c 'echo ok'`, alternated so drift hits both alike.
func (b *harness) syncRun(ctx context.Context) ([]Figure, error) {
	b.progress("sync run vs bare bash start: %d each, alternated", b.cfg.Latency)
	var runs, bare []time.Duration
	var phases [4][]time.Duration // request → created → started → ended → answered
	for i := 0; i < b.cfg.Latency; i++ {
		// Each measurement starts after a pause, so that what the last one
		// left running (a warm bash starting for the next job) weighs on
		// neither.
		time.Sleep(syncSettle)
		t0 := time.Now()
		if err := exec.CommandContext(ctx, b.bash, "-c", "echo ok").Run(); err != nil {
			return nil, err
		}
		bare = append(bare, time.Since(t0))
		time.Sleep(syncSettle)
		t0 = time.Now()
		resp, err := b.client.Run(ctx, "org_bench_trivial", nil, "")
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		if resp.Status != string(runbooker.StatusCompleted) {
			return nil, fmt.Errorf("bench run ended %s", resp.Status)
		}
		runs = append(runs, t1.Sub(t0))
		// Where the time went, from the job's own timestamps (read after
		// the clock stopped).
		if j, err := b.cp.Store.Job(ctx, b.tenant, resp.JobID); err == nil {
			marks := []time.Time{t0, j.CreatedAt, j.StartedAt, j.EndedAt, t1}
			for k := range phases {
				phases[k] = append(phases[k], marks[k+1].Sub(marks[k]))
			}
		}
	}
	b.progress("sync run phases, p50: request → job created %v, → process started %v, → job ended %v, → answer received %v",
		Percentile(phases[0], 0.5), Percentile(phases[1], 0.5), Percentile(phases[2], 0.5), Percentile(phases[3], 0.5))
	r, base := Percentile(runs, 0.5), Percentile(bare, 0.5)
	ratio := float64(r) / float64(base)
	figs := []Figure{{Name: "sync run p50 (trivial bash)", Value: ms(r), Unit: "ms", Baseline: ms(base), Ratio: ratio,
		Target: "≤ 2 × bare bash start", Met: ratio <= 2}}
	if isPostgresURL(b.cfg.DB) {
		// The server's own floor for the run's finish, measured in the
		// same run: a machine's figures read against it.
		paused, hot, err := commitBaseline(ctx, b.cfg.DB, b.cfg.Latency)
		if err != nil {
			return nil, err
		}
		figs = append(figs, Figure{Name: fmt.Sprintf("PostgreSQL one-row commit p50 after %v idle", commitPause), Value: ms(paused), Unit: "ms",
			Baseline: ms(hot), Ratio: ms(paused) / max(ms(hot), 0.001), Target: "(this server's floor for a finish)", Met: true})
	}
	return figs, nil
}

// syncSettle is the pause before each measurement of the sync figure.
const syncSettle = 3 * time.Millisecond

// throughput: N trivial jobs through the built-in group against N raw
// spawns of the same interpreter at the same concurrency, in rounds that
// alternate the two (a quarter of each per round), so that a machine whose
// speed drifts during the run weighs on both alike.
func (b *harness) throughput(ctx context.Context) ([]Figure, error) {
	return b.throughputOn(ctx, "", "")
}

// throughputOn is the throughput figure of the jobs of a group (empty:
// the built-in one), named with label when it is not the built-in one.
func (b *harness) throughputOn(ctx context.Context, group, label string) ([]Figure, error) {
	n, conc := b.cfg.Jobs, b.cfg.Concurrency
	rounds := min(throughputRounds, max(n, 1))
	name := fmt.Sprintf("throughput, %d trivial jobs", n)
	if label != "" {
		name += " (" + label + ")"
	}
	b.progress("%s: %d raw spawns and %d jobs, concurrency %d, alternated in %d rounds", name, n, n, conc, rounds)
	var rawTook, jobsTook, created time.Duration
	var rawCPU, jobsCPU cpuUse
	var pgCPU time.Duration // of a PostgreSQL server on this machine, during the jobs' rounds
	pm, pgOK := 0, false    // the postmaster of that server
	if isPostgresURL(b.cfg.DB) {
		var err error
		pm, err = postgres.Postmaster(ctx, b.cfg.DB)
		pgOK = err == nil
	}
	done := 0
	for r := 0; r < rounds; r++ {
		k := n / rounds
		if r == rounds-1 {
			k = n - done
		}
		t0, u0 := time.Now(), cpuNow()
		if err := b.rawSpawns(ctx, k, conc); err != nil {
			return nil, err
		}
		rawTook += time.Since(t0)
		u1 := cpuNow()
		rawCPU = rawCPU.add(u1.sub(u0))
		pg0, err0 := postgres.ServerCPU(pm)
		c, took, err := b.trivialJobs(ctx, group, k)
		jobsCPU = jobsCPU.add(cpuNow().sub(u1))
		pg1, err1 := postgres.ServerCPU(pm)
		pgCPU += pg1 - pg0
		pgOK = pgOK && err0 == nil && err1 == nil
		if err != nil {
			return nil, err
		}
		created += c
		jobsTook += took
		done += k
	}
	b.progress("%s: the %d jobs were created one by one in %v, all ended after %v", name, done, created.Round(time.Millisecond), jobsTook.Round(time.Millisecond))
	per := func(d time.Duration) time.Duration { return d / time.Duration(n) } // a job's share
	if rawCPU != (cpuUse{}) {
		// Where a busy worker's CPU goes: this process (the server, the
		// built-in agent, a remote figure's worker) and the processes it
		// waited for (the jobs'), a job against a raw spawn. A database
		// server's is not in it (PostgreSQL's on this machine: below).
		b.progress("%s: CPU a job %v in this process and %v in its processes, a raw spawn %v and %v", name,
			roundUS(per(jobsCPU.self)), roundUS(per(jobsCPU.children)), roundUS(per(rawCPU.self)), roundUS(per(rawCPU.children)))
	}
	if pgOK {
		// To the 10 ms of /proc's clock: over the figure's jobs, a few µs a job.
		b.progress("%s: CPU a job %v in the PostgreSQL server's processes on this machine", name, roundUS(per(pgCPU)))
	}
	raw := float64(n) / rawTook.Seconds()
	jobs := float64(n) / jobsTook.Seconds()
	ratio := jobs / raw
	figs := []Figure{{Name: name, Value: jobs, Unit: "jobs/s", Baseline: raw, Ratio: ratio,
		Target: "≥ 70 % of raw spawn rate", Met: ratio >= 0.7}}
	if pgOK && label == "" && rawCPU != (cpuUse{}) {
		fs, err := b.floorFigures(ctx, pm, name, raw, jobCPU{per(rawCPU.self), per(rawCPU.children)},
			jobCPU{per(jobsCPU.self) + per(pgCPU), per(jobsCPU.children)})
		if err != nil {
			return nil, err
		}
		figs = append(figs, fs...)
	}
	return figs, nil
}

// jobCPU is the CPU a job (or a raw spawn) costs: what it takes beyond its
// own processes (this process, and a PostgreSQL server's on this machine),
// and what its processes take.
type jobCPU struct{ self, procs time.Duration }

// at70 is the CPU a job may cost, in all, for CPU-bound throughput to reach
// 0.70 of the rate of what costs c.
func (c jobCPU) at70() time.Duration { return (c.self + c.procs) * 10 / 7 }

// floorFigures set the throughput figure's CPU against PostgreSQL's floor
// (cpuFloor), measured on the same server in the same run. Both are CPU
// bound on the same cores, so a job may cost at most raw/0.7 of CPU for
// the figure to reach 0.70 of raw spawn: its own processes take ours.procs
// of that, and what is left (the budget) is all the server process and
// PostgreSQL may take together; the floor is what PostgreSQL's durable
// commits alone take of it, ours.self what this run's took. The second
// figure is the ceiling that floor sets (floorCeiling), rawRate being the
// raw spawns' rate.
func (b *harness) floorFigures(ctx context.Context, pm int, name string, rawRate float64, raw, ours jobCPU) ([]Figure, error) {
	client, server, err := cpuFloor(ctx, b.cfg.DB, pm, max(b.cfg.Jobs, floorJobs), b.cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	floor, budget := client+server, raw.at70()-ours.procs
	b.progress("%s: for 0.70 of raw spawn a job may take %v of CPU beyond its own processes; PostgreSQL's floor "+
		"(a durable one-row INSERT and UPDATE) takes %v of it (%v in this process, %v in the server), this run's "+
		"server and PostgreSQL took %v", name, roundUS(budget), roundUS(floor), roundUS(client), roundUS(server), roundUS(ours.self))
	f := Figure{Name: "PostgreSQL CPU floor a job (durable create and finish)", Value: ms(floor), Unit: "ms",
		Target: "(of the CPU 0.70 leaves the server and PostgreSQL)", Met: true}
	if budget > 0 {
		f.Baseline = ms(budget)
		f.Ratio = f.Value / f.Baseline
	}
	ratio, room := floorCeiling(raw, ours.procs, floor)
	b.progress("%s: with this run's job processes, a spawn's own cost here and PostgreSQL's floor, the figure could reach "+
		"at most %.2f of raw spawn; at 0.70 that leaves %v a job for the engine, the agent, the sandbox and the job store's "+
		"work beyond the floor, which took %v in this run", name, ratio, roundUS(room), roundUS(ours.self-raw.self-floor))
	c := Figure{Name: "throughput ceiling at PostgreSQL's CPU floor", Value: rawRate * ratio, Unit: "jobs/s",
		Baseline: rawRate, Ratio: ratio, Target: "≥ 70 % of raw spawn rate, or the figure is out of reach here", Met: ratio >= 0.7}
	return []Figure{f, c}, nil
}

// floorCeiling is the best ratio to raw spawn that CPU-bound throughput can
// reach when a job costs no more than its own processes (procs), a raw
// spawn's cost in the spawning process (raw.self: a job starts a process
// too) and PostgreSQL's floor; room is the CPU a job that leaves, at 0.70,
// for everything else (negative: 0.70 is out of reach).
func floorCeiling(raw jobCPU, procs, floor time.Duration) (ratio float64, room time.Duration) {
	least := procs + raw.self + floor
	if least <= 0 {
		return 0, 0
	}
	return float64(raw.self+raw.procs) / float64(least), raw.at70() - least
}

// throughputRounds is how many times the throughput figure alternates raw
// spawns and jobs.
const throughputRounds = 4

// rawSpawns runs k bare `bash -c 'echo ok'` at concurrency conc.
func (b *harness) rawSpawns(ctx context.Context, k, conc int) error {
	var wg sync.WaitGroup
	var spawnErr error
	var mu sync.Mutex
	next := make(chan struct{}, k)
	for i := 0; i < k; i++ {
		next <- struct{}{}
	}
	close(next)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if err := exec.CommandContext(ctx, b.bash, "-c", "echo ok").Run(); err != nil {
					mu.Lock()
					spawnErr = err
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return spawnErr
}

// trivialJobs creates k trivial jobs one by one and waits for all: it
// returns how long the creating took and how long until the last ended.
func (b *harness) trivialJobs(ctx context.Context, group string, k int) (created, took time.Duration, err error) {
	e := b.cp.Engine
	t0 := time.Now()
	// Each job's end is watched from its creation on, as a synchronous
	// run's is: waiting for it then costs no store read.
	watches := make([]*engine.Watch, 0, k)
	defer func() {
		for _, w := range watches {
			w.Close()
		}
	}()
	for i := 0; i < k; i++ {
		_, w, err := e.CreateJobWatched(ctx, engine.CreateJobParams{TenantID: b.tenant, RunbookName: "org_bench_trivial", RunOn: group, Caller: "bench"})
		if err != nil {
			return 0, 0, err
		}
		watches = append(watches, w)
	}
	created = time.Since(t0)
	for _, w := range watches {
		out, err := w.Wait(ctx, b.tenant)
		if err != nil {
			return 0, 0, err
		}
		if j := out.Job; j.Status != runbooker.StatusCompleted {
			return 0, 0, fmt.Errorf("bench job %s ended %s (%s)", j.ID, j.Status, j.Exception)
		}
	}
	return created, time.Since(t0), nil
}
