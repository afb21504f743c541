package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/bench"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// Two servers and two workers on one PostgreSQL database: events cross
// replicas at once (not on the fallback poll), and 2,000 jobs started
// through both servers each run exactly once.
func TestScaleOutTwoServersTwoWorkersOneDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process PostgreSQL test skipped in -short mode")
	}
	d := startPGDeployment(t, pgtest.Database(t), 2)
	a := d.clients[0]
	ctx := context.Background()

	// Only a worker attached to B: a job created through A reaches it
	// through the bus. The engine's fallback poll is 5s and a long poll
	// 30s, so anything under 2s is the event.
	startWorker(t, d.servers[1].url, d.token, t.TempDir(), "--capacity", "4")
	waitWorkersOnline(t, a, "onprem", 1)
	var claimLat, runLat []time.Duration
	for range 20 {
		resp, err := a.Start(ctx, trivialRunbook, nil, "onprem")
		if err != nil {
			t.Fatal(err)
		}
		j := waitJobVia(t, a, resp.JobID)
		claimLat = append(claimLat, j.StartedAt.Sub(j.CreatedAt))
	}
	for range 10 {
		t0 := time.Now()
		resp, err := a.Run(ctx, trivialRunbook, nil, "onprem") // a sync run on A, finished on B
		if err != nil || resp.Status != string(runbooker.StatusCompleted) {
			t.Fatalf("sync run on A: %v %+v", err, resp)
		}
		runLat = append(runLat, time.Since(t0))
	}
	fmt.Fprintf(os.Stderr, "scale-out: created on A → started by B's worker: %s; sync run on A finished on B: %s\n",
		fmtDurations(claimLat), fmtDurations(runLat))
	if m := bench.Percentile(claimLat, 1); m >= 2*time.Second {
		t.Errorf("a job created on A waited %v for B's worker: the wake-up did not cross replicas", m)
	}
	if m := bench.Percentile(runLat, 1); m >= 2*time.Second {
		t.Errorf("a sync run on A took %v: the finish on B did not wake it", m)
	}

	// Now a worker on each server, and 2,000 jobs round-robin through both.
	startWorker(t, d.servers[0].url, d.token, t.TempDir(), "--capacity", "4")
	waitWorkersOnline(t, a, "onprem", 2)
	const total = 2000
	ids := make([]string, total)
	var wg sync.WaitGroup
	errs := make(chan error, total)
	next := make(chan int, total)
	for i := range total {
		next <- i
	}
	close(next)
	t0 := time.Now()
	for range 16 {
		wg.Go(func() {
			for i := range next {
				resp, err := d.clients[i%2].Start(ctx, trivialRunbook, nil, "onprem")
				if err != nil {
					errs <- fmt.Errorf("start %d: %w", i, err)
					continue
				}
				ids[i] = resp.JobID
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	conn := d.sql(t)
	waitAllTerminal(t, conn, ids, 120*time.Second)
	took := time.Since(t0)
	checkRanOnce(t, conn, ids)
	var perWorker []int
	rows, err := conn.Query(ctx, `SELECT count(*) FROM jobs WHERE id = ANY($1) GROUP BY worker_id ORDER BY 1`, ids)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int
		_ = rows.Scan(&n)
		perWorker = append(perWorker, n)
	}
	rows.Close()
	fmt.Fprintf(os.Stderr, "scale-out: %d jobs through 2 servers and 2 workers in %v (%.0f jobs/s), per worker %v\n",
		total, took.Round(time.Millisecond), total/took.Seconds(), perWorker)
}

// waitJobVia polls a job through the API until it is terminal.
func waitJobVia(t *testing.T, c interface {
	Job(context.Context, string) (*runbooker.Job, error)
}, id string) *runbooker.Job {
	t.Helper()
	var j *runbooker.Job
	eventually(t, 30*time.Second, "job "+id+" to finish", func() bool {
		var err error
		j, err = c.Job(context.Background(), id)
		return err == nil && j.Status.Terminal()
	})
	if j.Status != runbooker.StatusCompleted {
		t.Fatalf("job %s ended %s: %s", id, j.Status, j.Exception)
	}
	return j
}
