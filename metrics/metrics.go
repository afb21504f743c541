// Package metrics holds Runbooker's Prometheus metrics: the collectors, in
// a registry of their own (never the global default), fed by the engine's
// Observer hook and the syncer's, and read at scrape time from the store
// for what is a state rather than an event (queue depth, workers online).
//
// Labels are bounded: a worker group name, a job status, an operation
// kind, a sync result, and a runbook name only when Config.RunbookLabels
// asks for it. Job ids, tenants and callers never become labels.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/runbooker/runbooker"
)

// Source answers the questions a scrape asks: the engine
// (engine.Engine.QueueStats and OnlineWorkers).
type Source interface {
	QueueStats(ctx context.Context) ([]runbooker.QueueStat, error)
	OnlineWorkers(ctx context.Context) (map[string]int, error)
}

// Config configures the metrics of one server.
type Config struct {
	// RunbookLabels adds a runbook label (the runbook's name) to the job
	// counters and histograms. Off by default: names are free-form and
	// their number is up to the tenants.
	RunbookLabels bool
	// Source is read at every scrape; nil leaves out the queue and worker
	// gauges.
	Source Source
	// Now is the time queue ages are measured against (the engine's clock);
	// nil is the wall clock.
	Now func() time.Time
	// CloudWorkers is how many built-in agents this server runs (1, or 0
	// when it runs none): the built-in group's workers online, which are
	// not registered workers.
	CloudWorkers int
	// ScrapeTimeout bounds the store reads of one scrape (default 5 s).
	ScrapeTimeout time.Duration
	Log           *slog.Logger
}

// storeOps are the operation kinds the engine reports store failures of,
// plus "scrape" for the reads of a scrape: counted from zero so rates work
// from the first failure.
var storeOps = []string{"create", "claim", "start", "heartbeat", "append", "finish", "stop", "resume",
	"rescue", "purge", "suspend", "scrape"}

// recentFinished is how many finished jobs are remembered so that a
// repeated report of the same finish (a worker's retried delivery) is
// counted once.
const recentFinished = 16384

// Metrics is the registry and its collectors. Its hook methods are safe
// for concurrent use and never block on I/O.
type Metrics struct {
	cfg Config
	reg *prometheus.Registry

	jobsCreated     *prometheus.CounterVec
	jobsFinished    *prometheus.CounterVec
	dispatchLatency *prometheus.HistogramVec
	jobDuration     *prometheus.HistogramVec
	streamRecords   prometheus.Counter
	streamBytes     prometheus.Counter
	storeErrors     *prometheus.CounterVec
	syncs           *prometheus.CounterVec
	scheduleFirings prometheus.Counter
	webhookFirings  prometheus.Counter

	mu       sync.Mutex
	finished map[string]struct{} // ids of recently counted finishes
	order    []string            // the same ids, oldest first (a ring)
	next     int
}

// New returns the metrics of one server, every collector registered.
func New(cfg Config) *Metrics {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ScrapeTimeout <= 0 {
		cfg.ScrapeTimeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	jobLabels := []string{"group"}
	if cfg.RunbookLabels {
		jobLabels = append(jobLabels, "runbook")
	}
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry(), finished: map[string]struct{}{}}
	m.jobsCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "runbooker_jobs_created_total",
		Help: "Jobs created through this server, by worker group.",
	}, jobLabels)
	m.jobsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "runbooker_jobs_finished_total",
		Help: "Jobs that reached a final status (Completed, Failed, Stopped) through this server, by worker group and status.",
	}, append(append([]string{}, jobLabels...), "status"))
	m.dispatchLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "runbooker_job_dispatch_latency_seconds",
		Help:    "Time from a job's creation to the start of its (last) attempt's process, observed when the job finishes, by worker group.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, jobLabels)
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "runbooker_job_duration_seconds",
		Help:    "Time from the start of a job's (last) attempt to its end, observed when the job finishes, by worker group.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 10800},
	}, jobLabels)
	m.streamRecords = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "runbooker_stream_records_total",
		Help: "Stream records the store accepted from workers (a retried batch counts again).",
	})
	m.streamBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "runbooker_stream_bytes_total",
		Help: "Bytes of text and values of the stream records the store accepted from workers.",
	})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "runbooker_store_errors_total",
		Help: "Store calls that failed for a reason other than the caller's (the database down, a bug), by operation.",
	}, []string{"operation"})
	m.syncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "runbooker_syncs_total",
		Help: "Git syncs of runbook sources finished in this server, by result (ok, failed).",
	}, []string{"result"})
	// Webhook firings are fed by the HTTP server (ObserveWebhookFiring),
	// schedule firings by the engine's scheduler (ScheduleFired).
	m.scheduleFirings = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "runbooker_schedule_firings_total",
		Help: "Jobs started by schedules.",
	})
	m.webhookFirings = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "runbooker_webhook_firings_total",
		Help: "Jobs started by webhooks.",
	})
	for _, op := range storeOps {
		m.storeErrors.WithLabelValues(op)
	}
	m.syncs.WithLabelValues("ok")
	m.syncs.WithLabelValues("failed")
	m.reg.MustRegister(m.jobsCreated, m.jobsFinished, m.dispatchLatency, m.jobDuration,
		m.streamRecords, m.streamBytes, m.storeErrors, m.syncs, m.scheduleFirings, m.webhookFirings,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Source != nil {
		m.reg.MustRegister(&stateCollector{m: m})
	}
	return m
}

// Registry is the registry all of Runbooker's collectors are in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the text exposition of the registry, unprotected: wrap it
// in Protect.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Timeout: 30 * time.Second})
}

// jobLabels returns the label values of a job's counters and histograms.
func (m *Metrics) jobLabels(group, runbook string) []string {
	if group == "" {
		group = "unknown"
	}
	if m.cfg.RunbookLabels {
		if runbook == "" {
			runbook = "unknown"
		}
		return []string{group, runbook}
	}
	return []string{group}
}

// Event counts a job created or finished; it is the engine's Observer.
func (m *Metrics) Event(ev runbooker.LiveEvent) {
	switch ev.Kind {
	case runbooker.LiveJobCreated:
		if ev.Job != nil {
			m.jobsCreated.WithLabelValues(m.jobLabels(ev.Job.RunOn, ev.Job.RunbookName)...).Inc()
		}
	case runbooker.LiveJobStatus:
		if !ev.Status.Terminal() || !m.firstFinish(ev.JobID) {
			return
		}
		group, runbook := ev.Group, ""
		if j := ev.Job; j != nil {
			group, runbook = j.RunOn, j.RunbookName
		}
		labels := m.jobLabels(group, runbook)
		m.jobsFinished.WithLabelValues(append(labels, string(ev.Status))...).Inc()
		if j := ev.Job; j != nil && !j.StartedAt.IsZero() {
			if !j.CreatedAt.IsZero() && !j.StartedAt.Before(j.CreatedAt) {
				m.dispatchLatency.WithLabelValues(labels...).Observe(j.StartedAt.Sub(j.CreatedAt).Seconds())
			}
			if !j.EndedAt.IsZero() && !j.EndedAt.Before(j.StartedAt) {
				m.jobDuration.WithLabelValues(labels...).Observe(j.EndedAt.Sub(j.StartedAt).Seconds())
			}
		}
	}
}

// firstFinish reports whether the finish of job id was not counted yet,
// and remembers it among the last recentFinished.
func (m *Metrics) firstFinish(id string) bool {
	if id == "" {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, seen := m.finished[id]; seen {
		return false
	}
	if len(m.order) < recentFinished {
		m.order = append(m.order, id)
	} else {
		delete(m.finished, m.order[m.next])
		m.order[m.next] = id
		m.next = (m.next + 1) % recentFinished
	}
	m.finished[id] = struct{}{}
	return true
}

// StreamsStored counts stream records the store took; part of the
// engine's Observer.
func (m *Metrics) StreamsStored(records int, bytes int64) {
	m.streamRecords.Add(float64(records))
	m.streamBytes.Add(float64(bytes))
}

// StoreError counts a failed store call; part of the engine's Observer.
func (m *Metrics) StoreError(op string) { m.storeErrors.WithLabelValues(op).Inc() }

// SyncFinished counts a finished git sync; failed when the sync failed as
// a whole (problems with single files are an ok sync).
func (m *Metrics) SyncFinished(failed bool) {
	if failed {
		m.syncs.WithLabelValues("failed").Inc()
	} else {
		m.syncs.WithLabelValues("ok").Inc()
	}
}

// ObserveScheduleFiring counts a job a schedule started: for the schedules
// to come.
func (m *Metrics) ObserveScheduleFiring() { m.scheduleFirings.Inc() }

// ObserveWebhookFiring counts a job a webhook started: for the webhooks to
// come.
func (m *Metrics) ObserveWebhookFiring() { m.webhookFirings.Inc() }

// ScheduleFired is how the engine's observer hook reports a job a schedule
// started (engine/schedule.go asks its observer for this method).
func (m *Metrics) ScheduleFired() { m.ObserveScheduleFiring() }
