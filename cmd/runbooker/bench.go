package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/sandbox"
)

// benchFigure is one measured figure, its machine baseline from the same
// run, and the ARCHITECTURE.md §8 target it answers.
type benchFigure struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline float64 `json:"baseline,omitempty"` // the machine's own limit, same unit
	Ratio    float64 `json:"ratio,omitempty"`    // value / baseline
	Target   string  `json:"target"`
	Met      bool    `json:"met"`
}

type benchConfig struct {
	JSON        bool
	Jobs        int
	Latency     int
	Lines       int
	QueueJobs   int
	Concurrency int
	DataDir     string
	DB          string
	Only        string
	IdleWorkers int
	JobDir      string
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c benchConfig
	fs := newFlagSet("bench")
	fs.BoolVar(&c.JSON, "json", false, "print figures as JSON")
	fs.IntVar(&c.Jobs, "jobs", 2000, "trivial jobs for the throughput figure")
	fs.IntVar(&c.Latency, "latency-jobs", 200, "jobs for the dispatch and sync-run latency figures")
	fs.IntVar(&c.Lines, "lines", 1000000, "lines printed by the big-output runbook")
	fs.IntVar(&c.QueueJobs, "queue-jobs", 20000, "jobs for the queue-only figure")
	fs.IntVar(&c.IdleWorkers, "idle-workers", 1000, "simulated idle long-polling workers")
	fs.StringVar(&c.JobDir, "job-dir", "auto", "where job directories are made (as serve --job-dir)")
	fs.IntVar(&c.Concurrency, "concurrency", 2*runtime.NumCPU(), "built-in group capacity and raw spawn concurrency")
	fs.StringVar(&c.DataDir, "data", "", "data directory (default: a fresh temp dir, removed afterwards)")
	fs.StringVar(&c.DB, "db", "", "database (default sqlite in the data dir)")
	fs.StringVar(&c.Only, "only", "", "run only these figures, comma-separated: dispatch,sync,throughput,queue,output,remote,idle")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
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
	db, dropDB, err := benchDatabase(ctx, c.DB)
	if err != nil {
		return err
	}
	defer dropDB()
	c.DB = db
	b, err := newBench(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	figs, err := b.runAll(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"engine": redactURL(c.DB), "cpus": runtime.NumCPU(), "figures": figs})
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tvalue\tmachine baseline\tratio\ttarget\tmet\n")
	for _, f := range figs {
		base, ratio := "", ""
		if f.Baseline != 0 {
			base = benchNumber(f.Baseline) + " " + f.Unit
			ratio = fmt.Sprintf("%.2f", f.Ratio)
		}
		met := "yes"
		if !f.Met {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n", f.Name, benchNumber(f.Value), f.Unit, base, ratio, f.Target, met)
	}
	return tw.Flush()
}

// benchNumber prints a figure with four significant digits, never in
// exponent form.
func benchNumber(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

type bench struct {
	cfg    benchConfig
	m      *Main
	client *rbhttp.Client
	tenant string
	bash   string
	log    io.Writer
}

func newBench(ctx context.Context, c benchConfig, log io.Writer) (*bench, error) {
	m := &Main{Config: ServeConfig{
		Listen: "127.0.0.1:0", DataDir: c.DataDir, DB: c.DB, RunWait: 10 * time.Minute,
		LeaseTTL: 30 * time.Second, Retention: 24 * time.Hour, CloudCapacity: c.Concurrency,
		MaxRuntime: time.Hour, OutputCap: 1 << 30, Drain: 5 * time.Second, JobDir: c.JobDir,
	}}
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return nil, err
	}
	cred, secret, err := createCredential(ctx, m.Store, runbooker.DefaultTenant, "bench", runbooker.RoleAdmin)
	if err != nil {
		_ = m.Close()
		return nil, err
	}
	client, err := rbhttp.NewClient(m.URL(), cred.ID+":"+secret, nil)
	if err != nil {
		_ = m.Close()
		return nil, err
	}
	b := &bench{cfg: c, m: m, client: client, tenant: runbooker.DefaultTenant, bash: sandbox.ResolveInterpreters().Bash, log: log}
	for name, src := range map[string]string{
		"org_bench_trivial": "#!/bin/bash\necho ok\n",
		"org_bench_lines":   fmt.Sprintf("#!/bin/bash\nfor ((i=1; i<=%d; i++)); do echo \"line $i\"; done\n", c.Lines),
	} {
		if _, err := client.PutRunbook(ctx, name, runbooker.LangBash, []byte(src)); err != nil {
			_ = m.Close()
			return nil, fmt.Errorf("uploading bench runbook %s: %w", name, err)
		}
	}
	return b, nil
}

func (b *bench) close() { _ = b.m.Close() }

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bench) runAll(ctx context.Context) ([]benchFigure, error) {
	var figs []benchFigure
	steps := []struct {
		name string
		run  func(context.Context) ([]benchFigure, error)
	}{
		// Latency figures first, all on the same young database: the big
		// runs after them leave checkpoints and vacuums behind that would
		// be measured instead.
		{"dispatch", b.dispatch}, {"remote", b.remoteDispatch}, {"sync", b.syncRun},
		{"throughput", b.throughput}, {"queue", b.queueOnly}, {"output", b.bigOutput}, {"idle", b.idleWorkers},
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

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// dispatch: job created → process started, one job at a time so queueing
// does not count, read back from the job's own timestamps.
func (b *bench) dispatch(ctx context.Context) ([]benchFigure, error) {
	b.progress("dispatch latency: %d jobs, one at a time", b.cfg.Latency)
	return b.dispatchFigures(ctx, runbooker.CloudGroup, "built-in group")
}

// dispatchFigures runs Latency trivial jobs on group one at a time and
// reports the p50 and p99 of created → process started.
func (b *bench) dispatchFigures(ctx context.Context, group, label string) ([]benchFigure, error) {
	e := b.m.Engine
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
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	return []benchFigure{
		{Name: "dispatch p50 (" + label + ")", Value: ms(p50), Unit: "ms", Target: "≤ 5 ms", Met: p50 <= 5*time.Millisecond},
		{Name: "dispatch p99 (" + label + ")", Value: ms(p99), Unit: "ms", Target: "≤ 25 ms", Met: p99 <= 25*time.Millisecond},
	}, nil
}

// syncRun: a synchronous run over HTTP of `echo ok` against a bare
// `bash -c 'echo ok'`, alternated so drift hits both alike.
func (b *bench) syncRun(ctx context.Context) ([]benchFigure, error) {
	b.progress("sync run vs bare bash start: %d each, alternated", b.cfg.Latency)
	var runs, bare []time.Duration
	for i := 0; i < b.cfg.Latency; i++ {
		t0 := time.Now()
		if err := exec.CommandContext(ctx, b.bash, "-c", "echo ok").Run(); err != nil {
			return nil, err
		}
		bare = append(bare, time.Since(t0))
		t0 = time.Now()
		resp, err := b.client.Run(ctx, "org_bench_trivial", nil, "")
		if err != nil {
			return nil, err
		}
		if resp.Status != string(runbooker.StatusCompleted) {
			return nil, fmt.Errorf("bench run ended %s", resp.Status)
		}
		runs = append(runs, time.Since(t0))
	}
	r, base := percentile(runs, 0.5), percentile(bare, 0.5)
	ratio := float64(r) / float64(base)
	return []benchFigure{{Name: "sync run p50 (trivial bash)", Value: ms(r), Unit: "ms", Baseline: ms(base), Ratio: ratio,
		Target: "≤ 2 × bare bash start", Met: ratio <= 2}}, nil
}

// throughput: N trivial jobs through the built-in group against N raw
// spawns of the same interpreter at the same concurrency.
func (b *bench) throughput(ctx context.Context) ([]benchFigure, error) {
	n, conc := b.cfg.Jobs, b.cfg.Concurrency
	b.progress("throughput: %d raw spawns, then %d jobs, concurrency %d", n, n, conc)
	t0 := time.Now()
	var wg sync.WaitGroup
	var spawnErr error
	var mu sync.Mutex
	next := make(chan struct{}, n)
	for i := 0; i < n; i++ {
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
	if spawnErr != nil {
		return nil, spawnErr
	}
	raw := float64(n) / time.Since(t0).Seconds()

	e := b.m.Engine
	t0 = time.Now()
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		j, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: b.tenant, RunbookName: "org_bench_trivial", Caller: "bench"})
		if err != nil {
			return nil, err
		}
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		j, err := e.Wait(ctx, b.tenant, id)
		if err != nil {
			return nil, err
		}
		if j.Status != runbooker.StatusCompleted {
			return nil, fmt.Errorf("bench job %s ended %s (%s)", j.ID, j.Status, j.Exception)
		}
	}
	jobs := float64(n) / time.Since(t0).Seconds()
	ratio := jobs / raw
	return []benchFigure{{Name: fmt.Sprintf("throughput, %d trivial jobs", n), Value: jobs, Unit: "jobs/s", Baseline: raw, Ratio: ratio,
		Target: "≥ 70 % of raw spawn rate", Met: ratio >= 0.7}}, nil
}
