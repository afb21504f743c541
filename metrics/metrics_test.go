package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/runbooker/runbooker"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, token, remote, auth string
		want                      int
	}{
		{"token right", "s3cret", "10.0.0.9:4000", "Bearer s3cret", 0},
		{"token scheme any case", "s3cret", "10.0.0.9:4000", "bearer s3cret", 0},
		{"token wrong", "s3cret", "10.0.0.9:4000", "Bearer s3cre", http.StatusUnauthorized},
		{"token missing", "s3cret", "127.0.0.1:4000", "", http.StatusUnauthorized},
		{"token as basic", "s3cret", "127.0.0.1:4000", "Basic s3cret", http.StatusUnauthorized},
		{"no token, loopback v4", "", "127.0.0.1:4000", "", 0},
		{"no token, loopback v6", "", "[::1]:4000", "", 0},
		{"no token, mapped loopback", "", "[::ffff:127.0.0.1]:4000", "", 0},
		{"no token, remote", "", "192.0.2.7:4000", "", http.StatusForbidden},
		{"no token, remote v6", "", "[2001:db8::1]:4000", "", http.StatusForbidden},
		{"no token, garbage address", "", "localhost", "", http.StatusForbidden},
		{"no token, remote with a bearer", "", "192.0.2.7:4000", "Bearer anything", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = tt.remote
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if got := Check(r, tt.token); got != tt.want {
				t.Errorf("Check = %d, want %d", got, tt.want)
			}
			w := httptest.NewRecorder()
			Protect(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }), tt.token).ServeHTTP(w, r)
			want := tt.want
			if want == 0 {
				want = http.StatusOK
			}
			if w.Code != want {
				t.Errorf("Protect answered %d, want %d", w.Code, want)
			}
		})
	}
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func finished(id, group, runbook string, st runbooker.JobStatus, created, started, ended float64) runbooker.LiveEvent {
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	j := &runbooker.Job{ID: id, RunOn: group, RunbookName: runbook, Status: st, CreatedAt: sec(created), EndedAt: sec(ended)}
	if started >= 0 {
		j.StartedAt = sec(started)
	}
	return runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, Job: j, JobID: id, Status: st}
}

func TestEvents(t *testing.T) {
	m := New(Config{Log: slog.New(slog.DiscardHandler)})
	for _, id := range []string{"j1", "j2", "j3"} {
		m.Event(runbooker.LiveEvent{Kind: runbooker.LiveJobCreated, Job: &runbooker.Job{ID: id, RunOn: "cloud", RunbookName: "A"}, JobID: id})
	}
	m.Event(runbooker.LiveEvent{Kind: runbooker.LiveJobCreated, Job: &runbooker.Job{ID: "j4", RunOn: "onprem"}, JobID: "j4"})
	m.Event(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, JobID: "j1", Status: runbooker.StatusRunning})
	m.Event(finished("j1", "cloud", "A", runbooker.StatusCompleted, 0, 0.02, 1.02))
	m.Event(finished("j1", "cloud", "A", runbooker.StatusCompleted, 0, 0.02, 1.02)) // a retried delivery
	m.Event(finished("j2", "cloud", "A", runbooker.StatusFailed, 0, 0.5, 3))
	m.Event(finished("j3", "cloud", "A", runbooker.StatusStopped, 0, -1, 2)) // stopped while queued: never started
	m.Event(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, JobID: "j4", Status: runbooker.StatusStopped, Group: "onprem"})
	m.StreamsStored(3, 120)
	m.StreamsStored(2, 10)
	m.StoreError("finish")
	m.SyncFinished(false)
	m.SyncFinished(true)
	m.SyncFinished(false)

	check := func(name string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("created cloud", testutil.ToFloat64(m.jobsCreated.WithLabelValues("cloud")), 3)
	check("created onprem", testutil.ToFloat64(m.jobsCreated.WithLabelValues("onprem")), 1)
	check("finished cloud Completed", testutil.ToFloat64(m.jobsFinished.WithLabelValues("cloud", "Completed")), 1)
	check("finished cloud Failed", testutil.ToFloat64(m.jobsFinished.WithLabelValues("cloud", "Failed")), 1)
	check("finished cloud Stopped", testutil.ToFloat64(m.jobsFinished.WithLabelValues("cloud", "Stopped")), 1)
	check("finished onprem Stopped", testutil.ToFloat64(m.jobsFinished.WithLabelValues("onprem", "Stopped")), 1)
	check("stream records", testutil.ToFloat64(m.streamRecords), 5)
	check("stream bytes", testutil.ToFloat64(m.streamBytes), 130)
	check("store errors finish", testutil.ToFloat64(m.storeErrors.WithLabelValues("finish")), 1)
	check("store errors claim", testutil.ToFloat64(m.storeErrors.WithLabelValues("claim")), 0)
	check("syncs ok", testutil.ToFloat64(m.syncs.WithLabelValues("ok")), 2)
	check("syncs failed", testutil.ToFloat64(m.syncs.WithLabelValues("failed")), 1)

	// Two started jobs: latencies 0.02 s and 0.5 s, durations 1 s and 2.5 s.
	want := `
# HELP runbooker_job_dispatch_latency_seconds Time from a job's creation to the start of its (last) attempt's process, observed when the job finishes, by worker group.
# TYPE runbooker_job_dispatch_latency_seconds histogram
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="0.001"} 0
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="0.005"} 0
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="0.01"} 0
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="0.025"} 1
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="0.05"} 1
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="0.1"} 1
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="0.25"} 1
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="0.5"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="1"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="2.5"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="5"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="10"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="30"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="60"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="300"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="900"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="3600"} 2
runbooker_job_dispatch_latency_seconds_bucket{group="cloud",le="+Inf"} 2
runbooker_job_dispatch_latency_seconds_sum{group="cloud"} 0.52
runbooker_job_dispatch_latency_seconds_count{group="cloud"} 2
`
	if err := testutil.CollectAndCompare(m.dispatchLatency, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.jobDuration); n != 1 {
		t.Errorf("duration series = %d, want 1 (the cloud group)", n)
	}
	if problems, err := testutil.GatherAndLint(m.Registry()); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

func TestRunbookLabels(t *testing.T) {
	m := New(Config{RunbookLabels: true, Log: slog.New(slog.DiscardHandler)})
	m.Event(runbooker.LiveEvent{Kind: runbooker.LiveJobCreated, Job: &runbooker.Job{ID: "j1", RunOn: "cloud", RunbookName: "Reset-Password"}, JobID: "j1"})
	m.Event(finished("j1", "cloud", "Reset-Password", runbooker.StatusFailed, 0, 1, 2))
	m.Event(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, JobID: "j2", Status: runbooker.StatusStopped, Group: "onprem"})
	if got := testutil.ToFloat64(m.jobsCreated.WithLabelValues("cloud", "Reset-Password")); got != 1 {
		t.Errorf("created{cloud, Reset-Password} = %v", got)
	}
	if got := testutil.ToFloat64(m.jobsFinished.WithLabelValues("cloud", "Reset-Password", "Failed")); got != 1 {
		t.Errorf("finished{cloud, Reset-Password, Failed} = %v", got)
	}
	if got := testutil.ToFloat64(m.jobsFinished.WithLabelValues("onprem", "unknown", "Stopped")); got != 1 {
		t.Errorf("finished{onprem, unknown, Stopped} = %v", got)
	}
}

// A finish seen again after recentFinished others is counted again; one
// seen within them is not.
func TestRecentFinished(t *testing.T) {
	m := New(Config{Log: slog.New(slog.DiscardHandler)})
	if !m.firstFinish("a") || m.firstFinish("a") {
		t.Fatal("a second finish of a was counted")
	}
	for i := range recentFinished {
		m.firstFinish("x" + string(rune('A'+i%26)) + time.Duration(i).String())
	}
	if !m.firstFinish("a") {
		t.Error("a was still remembered after recentFinished others")
	}
	if len(m.finished) != recentFinished {
		t.Errorf("remembered %d, want at most %d", len(m.finished), recentFinished)
	}
}

type fakeSource struct {
	queues []runbooker.QueueStat
	online map[string]int
	err    error
}

func (f *fakeSource) QueueStats(context.Context) ([]runbooker.QueueStat, error) {
	return f.queues, f.err
}

func (f *fakeSource) OnlineWorkers(context.Context) (map[string]int, error) {
	out := map[string]int{}
	for k, v := range f.online {
		out[k] = v
	}
	return out, f.err
}

func TestState(t *testing.T) {
	src := &fakeSource{
		queues: []runbooker.QueueStat{{Group: "cloud", Queued: 2, OldestCreatedAt: t0.Add(-90 * time.Second)},
			{Group: "onprem", Queued: 5, OldestCreatedAt: t0.Add(-10 * time.Minute)}},
		online: map[string]int{"dmz": 2},
	}
	m := New(Config{Source: src, Now: func() time.Time { return t0 }, CloudWorkers: 1, Log: slog.New(slog.DiscardHandler)})
	want := `
# HELP runbooker_jobs_queued Jobs waiting for a worker (New) in all tenants, by worker group; read from the store at scrape time.
# TYPE runbooker_jobs_queued gauge
runbooker_jobs_queued{group="cloud"} 2
runbooker_jobs_queued{group="dmz"} 0
runbooker_jobs_queued{group="onprem"} 5
# HELP runbooker_jobs_queued_oldest_age_seconds Age of the oldest job waiting for a worker, by worker group (0 when none waits); read at scrape time.
# TYPE runbooker_jobs_queued_oldest_age_seconds gauge
runbooker_jobs_queued_oldest_age_seconds{group="cloud"} 90
runbooker_jobs_queued_oldest_age_seconds{group="dmz"} 0
runbooker_jobs_queued_oldest_age_seconds{group="onprem"} 600
# HELP runbooker_workers_online Workers online and taking jobs (neither draining nor stopped), by worker group; the built-in group counts this server's agent.
# TYPE runbooker_workers_online gauge
runbooker_workers_online{group="cloud"} 1
runbooker_workers_online{group="dmz"} 2
runbooker_workers_online{group="onprem"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"runbooker_jobs_queued", "runbooker_jobs_queued_oldest_age_seconds", "runbooker_workers_online"); err != nil {
		t.Error(err)
	}

	src.err = errors.New("database down")
	if _, err := m.Registry().Gather(); err != nil {
		t.Errorf("a scrape while the store is down fails: %v", err)
	}
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("scrape")); got != 2 {
		t.Errorf("store errors{scrape} = %v, want 2", got)
	}
}
