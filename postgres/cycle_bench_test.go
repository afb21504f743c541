package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// BenchmarkJobCycle is one job's life as a busy built-in worker lives it:
// the job is created by one call (a creator ahead of the worker), and the
// worker's finish of the job before it claims this one in the same call.
// With RUNBOOKER_BENCH_PGDATA naming the server's data directory (a local
// server this user may read /proc of), it also reports the server's CPU a
// job (server-cpu-µs/job): its processes' time, ended ones included.
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
	cpu0 := serverCPU(b)
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
	if cpu1 := serverCPU(b); cpu0 >= 0 && cpu1 >= 0 {
		b.ReportMetric(float64(cpu1-cpu0)*1e6/100/float64(b.N), "server-cpu-µs/job")
	}
}

// serverCPU is the CPU of the server whose data directory
// RUNBOOKER_BENCH_PGDATA names, in clock ticks (100 a second), or -1.
func serverCPU(b *testing.B) int64 {
	dir := os.Getenv("RUNBOOKER_BENCH_PGDATA")
	if dir == "" {
		return -1
	}
	pidf, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		b.Fatal(err)
	}
	pm := strings.SplitN(string(pidf), "\n", 2)[0]
	ticks := func(pid string, children bool) int64 {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return 0
		}
		f := strings.Fields(string(st)[strings.LastIndexByte(string(st), ')')+2:])
		var n int64
		idx := []int{11, 12} // utime, stime (fields 14, 15)
		if children {
			idx = append(idx, 13, 14)
		}
		for _, k := range idx {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			n += v
		}
		return n
	}
	total := ticks(pm, true)
	kids, _ := os.ReadFile("/proc/" + pm + "/task/" + pm + "/children")
	for _, k := range strings.Fields(string(kids)) {
		total += ticks(k, false)
	}
	return total
}
