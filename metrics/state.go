package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/runbooker/runbooker"
)

var (
	queuedDesc = prometheus.NewDesc("runbooker_jobs_queued",
		"Jobs waiting for a worker (New) in all tenants, by worker group; read from the store at scrape time.",
		[]string{"group"}, nil)
	queueAgeDesc = prometheus.NewDesc("runbooker_jobs_queued_oldest_age_seconds",
		"Age of the oldest job waiting for a worker, by worker group (0 when none waits); read at scrape time.",
		[]string{"group"}, nil)
	workersDesc = prometheus.NewDesc("runbooker_workers_online",
		"Workers online and taking jobs (neither draining nor stopped), by worker group; the built-in group counts this server's agent.",
		[]string{"group"}, nil)
)

// stateCollector reads what is a state rather than an event at every
// scrape: one QueueStats read (the queue's index only) and one worker list
// per tenant. Every group either one names gets all three gauges, so a
// group whose queue emptied shows 0 rather than vanishing.
type stateCollector struct{ m *Metrics }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queuedDesc
	ch <- queueAgeDesc
	ch <- workersDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ScrapeTimeout)
	defer cancel()
	queues, err := m.cfg.Source.QueueStats(ctx)
	if err != nil {
		m.StoreError("scrape")
		m.cfg.Log.Warn("metrics: reading the queues failed", "err", err)
	}
	online, err := m.cfg.Source.OnlineWorkers(ctx)
	if err != nil {
		m.StoreError("scrape")
		m.cfg.Log.Warn("metrics: reading the workers failed", "err", err)
		online = map[string]int{}
	}
	if m.cfg.CloudWorkers > 0 {
		online[runbooker.CloudGroup] += m.cfg.CloudWorkers
	}
	now := m.cfg.Now()
	byGroup := map[string]runbooker.QueueStat{}
	for _, q := range queues {
		byGroup[q.Group] = q
	}
	for g := range online {
		if _, ok := byGroup[g]; !ok {
			byGroup[g] = runbooker.QueueStat{Group: g}
		}
	}
	for g, q := range byGroup {
		age := 0.0
		if q.Queued > 0 && now.After(q.OldestCreatedAt) {
			age = now.Sub(q.OldestCreatedAt).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(q.Queued), g)
		ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age, g)
		ch <- prometheus.MustNewConstMetric(workersDesc, prometheus.GaugeValue, float64(online[g]), g)
	}
}
