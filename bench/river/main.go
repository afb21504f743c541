// Command river-bench measures River (github.com/riverqueue/river), a job
// queue on PostgreSQL, on the same work as the queue-only figures of
// `runbooker bench`, so that `runbooker bench --db postgres://… --peers
// river` prints both in one table. It lives in a module of its own: River
// never enters Runbooker's dependencies.
//
// Three runs, each on a fresh database of the server --db names:
//
//   - percall: 8 producers insert one job per call (Client.Insert) while
//     the client works them, as Runbooker's "queue only" figure creates
//     one job per API call;
//   - batched: 2 producers insert batches of --batch (Client.InsertMany)
//     while the client works them, as Runbooker's batched figure does;
//   - burndown: River's own benchmark (riverbench's --num-total-jobs
//     mode): every job inserted first in batches of 5,000, then only the
//     working is timed.
//
// The client runs --workers jobs at once (Runbooker's figure: 2 claimers
// of 64 slots) with the fetch settings River's own benchmark uses. A job
// counts once its completion is reported on the client's event stream,
// that is, after River's completer stored it. The figures go to stdout as
// one JSON object of jobs per second.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

func main() {
	db := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres", "PostgreSQL server (its maintenance database): each run gets a fresh database there")
	jobs := flag.Int("jobs", 20000, "jobs per run")
	workers := flag.Int("workers", 128, "jobs the client works at once (MaxWorkers)")
	batch := flag.Int("batch", 500, "jobs per InsertMany in the batched run")
	runs := flag.String("runs", "percall,batched,burndown", "runs, comma-separated")
	flag.Parse()
	if *jobs <= 0 || *workers <= 0 || *batch <= 0 {
		fail(errors.New("--jobs, --workers and --batch must be positive"))
	}
	ctx := context.Background()
	out := map[string]float64{}
	for _, run := range strings.Split(*runs, ",") {
		if run == "" {
			continue
		}
		var rate float64
		var err error
		switch run {
		case "percall":
			rate, err = measure(ctx, *db, *workers, *jobs, plan{producers: 8, batch: 1})
		case "batched":
			rate, err = measure(ctx, *db, *workers, *jobs, plan{producers: 2, batch: *batch})
		case "burndown":
			rate, err = measure(ctx, *db, *workers, *jobs, plan{producers: 1, batch: 5000, before: true})
		default:
			err = fmt.Errorf("unknown run %q (want percall, batched or burndown)", run)
		}
		if err != nil {
			fail(fmt.Errorf("%s: %w", run, err))
		}
		out[run] = rate
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "river-bench:", err)
	os.Exit(1)
}

// noopArgs is the benchmark's job: it does nothing.
type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// produce inserts n jobs from producers goroutines, batch jobs per call.
func produce(ctx context.Context, c *river.Client[pgx.Tx], n, producers, batch int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := min(int64(batch), int64(n)-(next.Add(int64(batch))-int64(batch)))
				if k <= 0 {
					return
				}
				var err error
				if batch == 1 {
					_, err = c.Insert(ctx, noopArgs{}, nil)
				} else {
					ps := make([]river.InsertManyParams, k)
					for i := range ps {
						ps[i] = river.InsertManyParams{Args: noopArgs{}}
					}
					_, err = c.InsertMany(ctx, ps)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// plan is how a run inserts its jobs: producers goroutines, batch jobs
// per call, and either while the client works (timed) or all before it
// starts (not timed).
type plan struct {
	producers, batch int
	before           bool
}

// measure runs one run on a fresh database and returns jobs per second.
func measure(ctx context.Context, server string, workers, n int, p plan) (float64, error) {
	dbURL, drop, err := freshDatabase(ctx, server)
	if err != nil {
		return 0, err
	}
	defer drop()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	driver := riverpgxv5.New(pool)
	mig, err := rivermigrate.New(driver, nil)
	if err != nil {
		return 0, err
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return 0, fmt.Errorf("migrating River's schema: %w", err)
	}
	reg := river.NewWorkers()
	river.AddWorker(reg, &noopWorker{})
	client, err := river.NewClient(driver, &river.Config{
		// River's own benchmark sets these for throughput.
		FetchCooldown:     2 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		Workers:           reg,
	})
	if err != nil {
		return 0, err
	}
	events, cancelSub := client.SubscribeConfig(&river.SubscribeConfig{ChanSize: n + 1000,
		Kinds: []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled}})
	defer cancelSub()
	if p.before {
		if err := produce(ctx, client, n, p.producers, p.batch); err != nil {
			return 0, err
		}
	}
	t0 := time.Now()
	if err := client.Start(ctx); err != nil {
		return 0, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = client.Stop(sctx)
	}()
	produced := make(chan error, 1)
	if p.before {
		produced <- nil
	} else {
		go func() { produced <- produce(ctx, client, n, p.producers, p.batch) }()
	}
	timeout := time.NewTimer(10 * time.Minute)
	defer timeout.Stop()
	for worked := 0; worked < n; {
		select {
		case ev, ok := <-events:
			if !ok {
				return 0, errors.New("the client's event stream closed early")
			}
			if ev.Kind != river.EventKindJobCompleted {
				return 0, fmt.Errorf("a no-op job ended %s", ev.Kind)
			}
			worked++
		case err := <-produced:
			if err != nil {
				return 0, fmt.Errorf("inserting: %w", err)
			}
			produced = nil
		case <-timeout.C:
			return 0, fmt.Errorf("%d of %d jobs worked after 10 minutes", worked, n)
		}
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// freshDatabase creates a database of its own on server and returns its URL
// and the func that drops it.
func freshDatabase(ctx context.Context, server string) (string, func(), error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", nil, fmt.Errorf("--db: %w", err)
	}
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "river_bench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, server); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}, nil
}
