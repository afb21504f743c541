package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/postgres"
)

// queueWorkers is how many jobs the queue-only figure's no-op workers hold
// at once: 2 claimers of 64 slots (River's bench is compared at the same
// worker count).
const queueClaimers, queueSlots = 2, 64

// queueOnly: jobs created, claimed and finished through the engine with a
// no-op executor (no processes), on a group no real worker serves. Twice:
// with producers creating one job per call (as API requests do), and with
// producers creating batches (as bulk starts do, and as River's bench
// inserts).
func (b *harness) queueOnly(ctx context.Context) ([]Figure, error) {
	n := b.cfg.QueueJobs
	// Each peer runs each run right after ours, so that a machine whose
	// speed drifts weighs on both sides of a ratio alike.
	peerFigs := map[string]peerFigures{}
	peersRun := func(run string) error {
		for _, p := range b.cfg.peers {
			b.progress("queue only: %s, the same %s run, %d jobs, %d jobs worked at once", p.name, run, n, queueClaimers*queueSlots)
			// The peer connects as Runbooker does (no TLS to this machine
			// unless the URL asks for it), so both do the same work.
			pf, err := runPeer(ctx, p.prog, postgres.PlainOnLoopback(b.cfg.dbServer), n, queueClaimers*queueSlots, queueBatch, run)
			if err != nil {
				return err
			}
			if peerFigs[p.name] == nil {
				peerFigs[p.name] = peerFigures{}
			}
			peerFigs[p.name][run] = pf[run]
		}
		return nil
	}
	// The batched run goes first, on the fresh database (River's bench, its
	// comparison, empties its tables before it starts).
	b.progress("queue only: %d jobs created in batches of %d, claimed and finished, no processes", n, queueBatch)
	batched, err := b.queueRun(ctx, "bench-noop-batch", n, queueBatch, false)
	if err != nil {
		return nil, err
	}
	if err := peersRun("batched"); err != nil {
		return nil, err
	}
	b.progress("queue only: %d jobs created one per call, claimed and finished, no processes", n)
	single, err := b.queueRun(ctx, "bench-noop", n, 1, false)
	if err != nil {
		return nil, err
	}
	if err := peersRun("percall"); err != nil {
		return nil, err
	}
	figs := []Figure{
		{Name: "queue only (no processes)", Value: single, Unit: "jobs/s", Target: "≥ 5,000 jobs/s", Met: single >= 5000},
		{Name: fmt.Sprintf("queue only, created in batches of %d", queueBatch), Value: batched, Unit: "jobs/s", Target: "≥ 5,000 jobs/s", Met: batched >= 5000},
	}
	// The 5,000 a second are SQLite's target (one process, no network).
	// On PostgreSQL, where every creation waits for its commit's WAL
	// flush, the target is River's figure on the same work and server.
	if isPostgresURL(b.cfg.DB) {
		for i := range figs {
			figs[i].Target, figs[i].Met = "ahead of River (--peers river)", false
		}
	}
	if b.cfg.Peers == "" {
		return figs, nil
	}
	b.progress("queue only: %d jobs created first, then claimed and finished (burn-down), no processes", n)
	burn, err := b.queueRun(ctx, "bench-noop-burndown", n, MaxBatchCreate, true)
	if err != nil {
		return nil, err
	}
	if err := peersRun("burndown"); err != nil {
		return nil, err
	}
	// Peers run on PostgreSQL only: the burn-down's target is theirs.
	figs = append(figs, Figure{Name: "queue only, burn-down of created jobs", Value: burn, Unit: "jobs/s"})
	for _, p := range b.cfg.peers {
		pf := peerFigs[p.name]
		// Each of our figures gets the peer's as its baseline: ratio > 1
		// is ahead.
		for i, run := range []string{"percall", "batched", "burndown"} {
			f := &figs[i]
			f.Baseline, f.Ratio = pf[run], f.Value/pf[run]
			f.Target, f.Met = "ahead of "+p.name, f.Ratio > 1
			figs = append(figs, Figure{Name: p.name + ": " + peerRunNames[run], Value: pf[run], Unit: "jobs/s", Target: "(peer, same work)", Met: true})
		}
	}
	return figs, nil
}

// peerRunNames say what each peer run measured, as our figures' names do.
var peerRunNames = map[string]string{
	"percall":  "queue only, inserted one per call",
	"batched":  fmt.Sprintf("queue only, inserted in batches of %d", queueBatch),
	"burndown": "queue only, burn-down of inserted jobs (its own benchmark)",
}

// MaxBatchCreate is the batch size of the burn-down run's creation.
const MaxBatchCreate = 1000

// queueBatch is the batch size of the batched queue-only figure.
const queueBatch = 500

// queueRun pushes n jobs through the queue of a fresh group: producers
// creating batch jobs per call, while queueClaimers no-op workers claim up
// to queueSlots jobs at a time and finish each as its own call, as worker
// slots do. It returns jobs per second.
//
// With before, every job is created first (not timed) and only the claims
// and finishes are timed: a burn-down, as River's own benchmark runs.
func (b *harness) queueRun(ctx context.Context, group string, n, batch int, before bool) (float64, error) {
	e := b.cp.Engine
	var created, finished atomic.Int64
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
		cancel()
	}
	if _, err := e.CreateGroup(ctx, &runbooker.WorkerGroup{TenantID: b.tenant, Name: group}); err != nil {
		return 0, fmt.Errorf("creating the no-op group: %w", err)
	}
	// One job per call: 8 concurrent API clients. In batches: 2 producers,
	// each writing a batch while the other's commits (River's bench has one
	// insert loop).
	producers := 8
	if batch > 1 {
		producers = 2
	}
	req := engine.CreateJobParams{TenantID: b.tenant, RunbookName: "org_bench_trivial", RunOn: group, Caller: "bench"}
	t0 := time.Now()
	// Producers and finishers run concurrently, as API requests and worker
	// slots do in a real deployment; the store batches their commits.
	var pwg sync.WaitGroup
	for p := 0; p < producers; p++ {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for cctx.Err() == nil {
				k := min(int64(batch), int64(n)-(created.Add(int64(batch))-int64(batch)))
				if k <= 0 {
					return
				}
				var err error
				if batch == 1 {
					_, err = e.CreateJob(ctx, req)
				} else {
					ps := make([]engine.CreateJobParams, k)
					for i := range ps {
						ps[i] = req
					}
					_, err = e.CreateJobs(ctx, ps)
				}
				if err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	if before {
		pwg.Wait()
		select {
		case err := <-errs:
			return 0, err
		default:
		}
		t0 = time.Now()
	}
	// Each no-op worker claims up to queueSlots jobs. As in the agent, a
	// slot is free again once its job's work is done (for a no-op job, at
	// once) while the finish is still being reported; the worker claims the
	// next jobs while the previous claim's finishes are under way, but not
	// before the claim before that is fully reported.
	for c := 0; c < queueClaimers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			prev := &sync.WaitGroup{}
			defer func() { prev.Wait() }()
			for finished.Load() < int64(n) && cctx.Err() == nil {
				jobs, err := e.Claim(cctx, engine.ClaimRequest{Group: group, WorkerID: fmt.Sprintf("noop-%d", c), Limit: queueSlots, Wait: 50 * time.Millisecond})
				if err != nil {
					if cctx.Err() == nil {
						fail(err)
					}
					return
				}
				fw := &sync.WaitGroup{}
				for _, j := range jobs {
					fw.Add(1)
					go func() {
						defer fw.Done()
						if _, err := e.Finish(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, Status: runbooker.StatusCompleted}); err != nil {
							fail(err)
						}
						if finished.Add(1) >= int64(n) {
							cancel()
						}
					}()
				}
				prev.Wait()
				prev = fw
			}
		}(c)
	}
	wg.Wait()
	pwg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	if got := finished.Load(); got != int64(n) {
		return 0, fmt.Errorf("queue only: %d of %d jobs finished", got, n)
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// bigOutput: a runbook printing N lines, stored and checked line by line,
// against the same script with its output sent to /dev/null.
func (b *harness) bigOutput(ctx context.Context) ([]Figure, error) {
	n := b.cfg.Lines
	b.progress("big output: %d lines, stored vs /dev/null", n)
	src, err := b.cp.Store.Runbook(ctx, b.tenant, "org_bench_lines")
	if err != nil {
		return nil, err
	}
	content, err := b.cp.Store.RunbookContent(ctx, b.tenant, src.Version)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(b.cfg.DataDir, "lines.sh")
	if err := os.WriteFile(script, content, 0o600); err != nil {
		return nil, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, b.bash, script)
	cmd.Stdout = devnull
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	base := time.Since(t0)

	e := b.cp.Engine
	j, err := e.CreateJob(ctx, engine.CreateJobParams{TenantID: b.tenant, RunbookName: "org_bench_lines", Caller: "bench"})
	if err != nil {
		return nil, err
	}
	j, err = e.Wait(ctx, b.tenant, j.ID)
	if err != nil {
		return nil, err
	}
	took := j.EndedAt.Sub(j.CreatedAt)
	if j.Status != runbooker.StatusCompleted {
		return nil, fmt.Errorf("big-output job ended %s (%s)", j.Status, j.Exception)
	}
	if err := b.checkLines(ctx, j.ID, n); err != nil {
		return nil, err
	}
	ratio := float64(took) / float64(base)
	return []Figure{{Name: fmt.Sprintf("%d-line output, all stored in order", n), Value: took.Seconds(), Unit: "s",
		Baseline: base.Seconds(), Ratio: ratio, Target: "≤ 2 × /dev/null", Met: ratio <= 2}}, nil
}

// checkLines reads every stored record back and proves none was lost,
// duplicated or reordered.
func (b *harness) checkLines(ctx context.Context, id string, n int) error {
	var after int64
	want := 1
	for {
		recs, err := b.cp.Store.Streams(ctx, b.tenant, id, runbooker.StreamFilter{After: after, Limit: 50000})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if r.Seq <= after {
				return fmt.Errorf("record sequence went back: %d after %d", r.Seq, after)
			}
			after = r.Seq
			if exp := fmt.Sprintf("line %d", want); r.Type != runbooker.StreamOutput || r.Text != exp {
				return fmt.Errorf("record %d: got %s %q, want Output %q", r.Seq, r.Type, r.Text, exp)
			}
			want++
		}
	}
	if want-1 != n {
		return fmt.Errorf("stored %d lines, want %d", want-1, n)
	}
	return nil
}
