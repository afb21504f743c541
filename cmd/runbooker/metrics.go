package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/metrics"
)

// MetricsFlags configure the Prometheus endpoint of `serve`.
type MetricsFlags struct {
	// On serves GET /metrics on the server's listener.
	On bool
	// Token, when set, is the bearer token a scrape must send; without
	// one, only loopback clients are answered. From --metrics-token-file
	// or RUNBOOKER_METRICS_TOKEN.
	Token string
	// RunbookLabels adds a runbook label to the job metrics.
	RunbookLabels bool

	tokenFile string
}

func addMetricsFlags(fs *flag.FlagSet, c *MetricsFlags) {
	fs.BoolVar(&c.On, "metrics", false, "serve Prometheus metrics at /metrics (to loopback clients only, unless a token is set)")
	fs.StringVar(&c.tokenFile, "metrics-token-file", "", "file holding the bearer token /metrics requires (RUNBOOKER_METRICS_TOKEN holds the token itself)")
	fs.BoolVar(&c.RunbookLabels, "metrics-runbook-labels", false, "label job metrics with the runbook's name (one series per runbook: mind how many there are)")
}

// check reads the token; it is called once the flags are parsed.
func (c *MetricsFlags) check() error {
	if !c.On {
		if c.tokenFile != "" || c.RunbookLabels {
			return fmt.Errorf("--metrics-token-file and --metrics-runbook-labels need --metrics")
		}
		return nil
	}
	c.Token = strings.TrimSpace(os.Getenv("RUNBOOKER_METRICS_TOKEN"))
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return fmt.Errorf("--metrics-token-file: %w", err)
		}
		if c.Token = strings.TrimSpace(string(b)); c.Token == "" {
			return fmt.Errorf("--metrics-token-file: %s is empty", c.tokenFile)
		}
	}
	return nil
}

// setUpMetrics makes the metrics and has the engine report to them, before
// anything runs jobs. Without --metrics it does nothing.
func (m *Main) setUpMetrics() {
	c := m.Config.Metrics
	if !c.On {
		return
	}
	m.Metrics = metrics.New(metrics.Config{RunbookLabels: c.RunbookLabels, Source: m.Engine, Now: m.Engine.Now,
		CloudWorkers: 1, Log: m.Log.With("component", "metrics")})
	m.Engine.SetObserver(m.Metrics)
}

// mountMetrics counts syncs and serves /metrics, protected.
func (m *Main) mountMetrics() {
	if m.Metrics == nil {
		return
	}
	m.Syncer.SetObserver(func(_, _ string, st gitsync.Status) { m.Metrics.SyncFinished(st.Error != "") })
	m.HTTP.Metrics = metrics.Protect(m.Metrics.Handler(), m.Config.Metrics.Token)
	m.HTTP.OnWebhookFired = m.Metrics.ObserveWebhookFiring
	if m.Config.Metrics.Token == "" {
		m.Log.Info("metrics at /metrics, for loopback clients only (no token)")
	}
}
