package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
	"github.com/runbooker/runbooker/sandbox"
)

// BenchmarkJobCycle is one job's life as a busy built-in worker lives it:
// the job is created by one call (a creator ahead of the worker), and the
// worker's finish of the job before it claims this one in the same call.
// Where the server runs on this machine and /proc shows its processes, it
// also reports the server's CPU a job (server-cpu-µs/job): its processes'
// time, ended ones included (postgres.ServerCPU). It always reports this
// process's CPU a job (client-cpu-µs/job): pgx, the store and the socket.
func BenchmarkJobCycle(b *testing.B) {
	pgtest.Require(b)
	ctx := context.Background()
	db := openTemp(b)
	defer db.Close()
	now := time.Now().UTC()
	claim := runbooker.ClaimParams{TenantID: "t1", Group: "g", WorkerID: "w", Limit: 1, Now: now, LeaseUntil: now.Add(time.Hour)}
	newJob := func() *runbooker.Job {
		return &runbooker.Job{ID: runbooker.NewUUID(), TenantID: "t1", RunbookName: "rb", RunbookVersion: "v1",
			Language: runbooker.LangBash, RunOn: "g", Caller: "test", Status: runbooker.StatusNew, CreatedAt: now, LastModifiedAt: now}
	}
	if err := db.CreateJob(ctx, newJob()); err != nil {
		b.Fatal(err)
	}
	held, err := db.ClaimJobs(ctx, claim)
	if err != nil || len(held) != 1 {
		b.Fatalf("claimed %d, %v", len(held), err)
	}
	cur := held[0]
	out := []runbooker.StreamRecord{{Type: runbooker.StreamOutput, Text: "ok", Time: now}}
	pm, pmErr := postgres.Postmaster(ctx, pgtest.AdminURL())
	cpu0, err0 := postgres.ServerCPU(pm)
	self0, _ := sandbox.CPUUsed()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.CreateJob(ctx, newJob()); err != nil {
			b.Fatal(err)
		}
		out[0].Seq = cur.NextSeq
		_, next, err := db.FinishAndClaim(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: cur.ID, Attempt: cur.Attempt},
			Status: runbooker.StatusCompleted, Now: now, Records: out}, claim)
		if err != nil || len(next) != 1 {
			b.Fatalf("finish and claim: %d claimed, %v", len(next), err)
		}
		cur = next[0]
	}
	b.StopTimer()
	self1, _ := sandbox.CPUUsed()
	b.ReportMetric(float64((self1-self0)/time.Microsecond)/float64(b.N), "client-cpu-µs/job")
	if cpu1, err1 := postgres.ServerCPU(pm); pmErr == nil && err0 == nil && err1 == nil {
		b.ReportMetric(float64((cpu1-cpu0)/time.Microsecond)/float64(b.N), "server-cpu-µs/job")
	}
}
