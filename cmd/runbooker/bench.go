package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/bench"
	"github.com/runbooker/runbooker/sandbox"
)

// cmdBench: `runbooker bench` measures the performance targets of
// ARCHITECTURE.md §9 with package bench, on control planes built here.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c bench.Config
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
	fs.StringVar(&c.Peers, "peers", "", "also measure these job queues on the queue-only work, PostgreSQL only: river (built from bench/river, or river=PATH)")
	fs.StringVar(&c.Only, "only", "", "run only these figures, comma-separated: dispatch,sync,throughput,queue,output,remote,idle,schedules,scale")
	fs.StringVar(&c.Scale, "scale", "10000,100000", "job counts the scale figures are measured at, comma-separated (e.g. 10000,100000,1000000)")
	fs.IntVar(&c.ScaleQueued, "scale-queued", 10000, "jobs queued for the scale step's memory figure")
	fs.IntVar(&c.WarmBash, "warm-bash", defaultWarmBash, "bash processes kept started ahead of their jobs, by the server and the remote worker (as serve --warm-bash; 0: none)")
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
	return bench.Run(ctx, c, benchEnv(), stdout, stderr)
}

// benchEnv gives the bench this binary's control plane: a Main, so the
// bench measures exactly what serve runs (job isolation included), and
// this binary as the separate server of the idle figure.
func benchEnv() bench.Env {
	return bench.Env{
		Start: startBenchServer,
		CreateGroup: func(ctx context.Context, dataDir, db string, g *runbooker.WorkerGroup) (string, error) {
			e, closeFn, err := offlineEngine(ctx, dataDir, db)
			if err != nil {
				return "", err
			}
			defer closeFn()
			return e.CreateGroup(ctx, g)
		},
		Jobs: func(jobDir string, warmBash int) (sandbox.Interpreters, error) {
			in, _, err := setUpJobs(jobDir, IsolationFlags{WarmBash: warmBash}, nil, slog.New(slog.DiscardHandler))
			return in, err
		},
		Serve: func(ctx context.Context, args ...string) (*exec.Cmd, error) {
			self, err := os.Executable()
			if err != nil {
				return nil, err
			}
			cmd := exec.CommandContext(ctx, self, append([]string{"serve"}, args...)...)
			cmd.Env = append(os.Environ(), "RUNBOOKER_TEST_AS_MAIN=1") // lets a test binary act as runbooker
			return cmd, nil
		},
	}
}

// startBenchServer runs a Main on loopback with the bench's settings and
// makes it an admin credential.
func startBenchServer(ctx context.Context, s bench.Server) (*bench.ControlPlane, error) {
	m := &Main{Config: ServeConfig{
		Listen: "127.0.0.1:0", DataDir: s.DataDir, DB: s.DB, RunWait: s.RunWait,
		LeaseTTL: s.LeaseTTL, Retention: s.Retention, CloudCapacity: s.Capacity,
		MaxRuntime: s.MaxRuntime, OutputCap: s.OutputCap, Drain: s.Drain, JobDir: s.JobDir,
		Isolation: IsolationFlags{WarmBash: s.WarmBash},
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
	return &bench.ControlPlane{URL: m.URL(), Credential: cred.ID + ":" + secret, Store: m.Store, Engine: m.Engine, Close: m.Close}, nil
}
