package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sqlite"
)

func benchJob(tenant string) *runbooker.Job {
	return &runbooker.Job{
		ID:             runbooker.NewUUID(), // random, as the engine makes them
		TenantID:       tenant,
		RunbookName:    "rjgit-user_general_say-hello",
		RunbookVersion: runbooker.ContentHash([]byte("Write-Output hello")),
		Language:       runbooker.LangPowerShell,
		Parameters:     map[string]any{"UserName": "ada@example.com", "Count": 3},
		RunOn:          runbooker.CloudGroup,
		Caller:         "bench",
	}
}

// BenchmarkQueue measures the queue alone (DESIGN §8: ≥ 5,000 jobs/s): each
// op creates one job, claims it and finishes it.
//
//	serial:   one job at a time, claim Limit 1, the slowest honest pattern
//	batch:    a producer queues 100 jobs, a worker claims them at once
//	parallel: GOMAXPROCS×4 goroutines each doing create+claim+finish
func BenchmarkQueue(b *testing.B) {
	ctx := context.Background()
	report := func(b *testing.B, start time.Time, cpu0 time.Duration, jobs int) {
		b.ReportMetric(float64(jobs)/time.Since(start).Seconds(), "jobs/s")
		b.ReportMetric(float64(jobs)/(cpuTime()-cpu0).Seconds(), "jobs/cpu-s")
	}
	cycle := func(b *testing.B, db *sqlite.DB, wk string, n int) {
		for range n {
			if err := db.CreateJob(ctx, benchJob(runbooker.DefaultTenant)); err != nil {
				b.Fatal(err)
			}
		}
		now := time.Now()
		js, err := db.ClaimJobs(ctx, runbooker.ClaimParams{Group: runbooker.CloudGroup, WorkerID: wk,
			Limit: n, Now: now, LeaseUntil: now.Add(30 * time.Second)})
		if err != nil {
			b.Fatal(err)
		}
		for _, j := range js {
			_, err := db.FinishJob(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: j.Attempt},
				Status: runbooker.StatusCompleted, Now: now})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("serial", func(b *testing.B) {
		db := openTemp(b)
		defer db.Close()
		start, cpu0 := time.Now(), cpuTime()
		for b.Loop() {
			cycle(b, db, "w1", 1)
		}
		report(b, start, cpu0, b.N)
	})
	b.Run("batch100", func(b *testing.B) {
		db := openTemp(b)
		defer db.Close()
		start, cpu0 := time.Now(), cpuTime()
		for b.Loop() {
			cycle(b, db, "w1", 100)
		}
		report(b, start, cpu0, b.N*100)
	})
	b.Run("parallel", func(b *testing.B) {
		db := openTemp(b)
		defer db.Close()
		var id atomic.Int64
		b.SetParallelism(4)
		start, cpu0 := time.Now(), cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			wk := fmt.Sprintf("w%d", id.Add(1))
			for pb.Next() {
				cycle(b, db, wk, 1)
			}
		})
		report(b, start, cpu0, b.N)
	})
}

// BenchmarkQueueConcurrent has the shape of `runbooker bench`'s queue
// figure: 8 producers create jobs while 2 claimers take up to 64 at a time
// and finish each in its own goroutine. Each op is one job.
func BenchmarkQueueConcurrent(b *testing.B) {
	ctx := context.Background()
	db := openTemp(b)
	defer db.Close()
	n := int64(b.N)
	var created, finished atomic.Int64
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for range 8 {
		wg.Go(func() {
			for created.Add(1) <= n {
				if err := db.CreateJob(ctx, benchJob(runbooker.DefaultTenant)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for c := range 2 {
		wg.Go(func() {
			for finished.Load() < n && !b.Failed() {
				now := time.Now()
				js, err := db.ClaimJobs(ctx, runbooker.ClaimParams{Group: runbooker.CloudGroup,
					WorkerID: fmt.Sprint("w", c), Limit: 64, Now: now, LeaseUntil: now.Add(time.Minute)})
				if err != nil {
					b.Error(err)
					return
				}
				var fw sync.WaitGroup
				for _, j := range js {
					fw.Go(func() {
						_, err := db.FinishJob(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: j.Attempt},
							Status: runbooker.StatusCompleted, Now: now})
						if err != nil {
							b.Error(err)
						}
					})
				}
				fw.Wait()
				finished.Add(int64(len(js)))
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "jobs/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "jobs/cpu-s")
}

// BenchmarkAppendStreams measures storing a chatty job's output the way a
// worker uploads it: one AppendStreams call per batch. Each op is one batch.
func BenchmarkAppendStreams(b *testing.B) {
	for _, batch := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			ctx := context.Background()
			db := openTemp(b)
			defer db.Close()
			j := benchJob(runbooker.DefaultTenant)
			if err := db.CreateJob(ctx, j); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			js, err := db.ClaimJobs(ctx, runbooker.ClaimParams{Group: runbooker.CloudGroup, WorkerID: "w1",
				Limit: 1, Now: now, LeaseUntil: now.Add(time.Hour)})
			if err != nil || len(js) != 1 {
				b.Fatal(err)
			}
			ref := runbooker.JobRef{ID: j.ID, Attempt: js[0].Attempt}
			recs := make([]runbooker.StreamRecord, batch)
			seq := int64(0)
			start, cpu0 := time.Now(), cpuTime()
			for b.Loop() {
				for i := range recs {
					seq++
					recs[i] = runbooker.StreamRecord{Seq: seq, Time: now, Type: runbooker.StreamOutput,
						Text: fmt.Sprintf("line %d of a runbook that prints a lot of output", seq)}
				}
				if err := db.AppendStreams(ctx, ref, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(seq)/time.Since(start).Seconds(), "records/s")
			b.ReportMetric(float64(seq)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
		})
	}
}

// BenchmarkFinishAndClaimChain is a busy built-in worker's slot on the
// store: each op creates a job and finishes the slot's job while claiming
// the next, in one FinishAndClaim, with the claim naming the worker's
// languages as the built-in worker's does.
//
//	go test -run '^$' -bench FinishAndClaimChain ./sqlite/
func BenchmarkFinishAndClaimChain(b *testing.B) {
	ctx := context.Background()
	db := openTemp(b)
	defer db.Close()
	langs := []runbooker.Language{runbooker.LangBash, runbooker.LangPython, runbooker.LangPowerShell}
	claim := func(now time.Time) runbooker.ClaimParams {
		return runbooker.ClaimParams{Group: runbooker.CloudGroup, WorkerID: "w1", Limit: 1, Now: now,
			LeaseUntil: now.Add(time.Minute), Languages: langs}
	}
	if err := db.CreateJob(ctx, benchJob(runbooker.DefaultTenant)); err != nil {
		b.Fatal(err)
	}
	js, err := db.ClaimJobs(ctx, claim(time.Now()))
	if err != nil || len(js) != 1 {
		b.Fatalf("claim: %v, %d jobs", err, len(js))
	}
	cur := js[0]
	start, cpu0 := time.Now(), cpuTime()
	for b.Loop() {
		if err := db.CreateJob(ctx, benchJob(runbooker.DefaultTenant)); err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		_, next, err := db.FinishAndClaim(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: cur.ID, Attempt: cur.Attempt},
			Status: runbooker.StatusCompleted, Now: now, StartedAt: now}, claim(now))
		if err != nil || len(next) != 1 {
			b.Fatalf("finish and claim: %v, %d jobs", err, len(next))
		}
		cur = next[0]
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "jobs/cpu-s")
}
