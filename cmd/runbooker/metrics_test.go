package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// scrape reads /metrics with the given bearer token (none when empty).
func (s *server) scrape(token string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.url+"/metrics", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// families parses a text exposition.
func families(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return fams
}

// sample returns the value of the series of name whose labels include
// want (a counter, a gauge, or a histogram's count), and whether it is there.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// A known workload (three jobs that complete and one that fails in the
// built-in group, one waiting in a group without workers) shows in
// /metrics as it happened; the endpoint needs its token, and no job id is
// ever a label.
func TestMetricsWorkload(t *testing.T) {
	const token = "scrape-token-7f3a"
	s := startServer(t, func(c *ServeConfig) { c.Metrics = MetricsFlags{On: true, Token: token} })
	ctx := context.Background()
	s.put("org_general_ok", runbooker.LangBash, "#!/bin/bash\necho done\n")
	s.put("org_general_broken", runbooker.LangBash, "#!/bin/bash\necho 'no such mailbox' >&2\nexit 2\n")
	var ids []string
	for range 3 {
		resp := s.runJSON("org_general_ok", nil)
		if resp.Status != "Completed" {
			t.Fatalf("ok job: %s", resp.Status)
		}
		ids = append(ids, resp.JobID)
	}
	if resp := s.runJSON("org_general_broken", nil); resp.Status != "Failed" {
		t.Fatalf("broken job: %s", resp.Status)
	} else {
		ids = append(ids, resp.JobID)
	}
	if _, err := s.client.CreateGroup(ctx, rbhttp.GroupView{Name: "onprem"}); err != nil {
		t.Fatal(err)
	}
	// The job left waiting in onprem is a webhook's.
	onprem := "onprem"
	hook, err := s.client.CreateWebhook(ctx, rbhttp.WebhookRequest{Name: "ticketing", RunbookName: "org_general_ok", RunOn: &onprem})
	if err != nil {
		t.Fatal(err)
	}
	st, _, body := s.call("POST", "/webhooks/"+hook.Token, "", `{"ticket": 42}`)
	var fired rbhttp.WebhookCallResponse
	if err := json.Unmarshal([]byte(body), &fired); st != 202 || err != nil || len(fired.JobIds) != 1 {
		t.Fatalf("webhook call: %d %s", st, body)
	}
	ids = append(ids, fired.JobIds[0])
	s.clock.Advance(2 * time.Minute)

	var fams map[string]*dto.MetricFamily
	var text string
	// A synchronous run answers when the job is finished, a moment before
	// the finish is counted: poll.
	eventually(t, 10*time.Second, "the finished jobs counted", func() bool {
		st, body := s.scrape(token)
		if st != 200 {
			t.Fatalf("scrape: %d %s", st, body)
		}
		text, fams = body, families(t, body)
		n, _ := sample(fams, "runbooker_jobs_finished_total", map[string]string{"group": "cloud", "status": "Failed"})
		c, _ := sample(fams, "runbooker_jobs_finished_total", map[string]string{"group": "cloud", "status": "Completed"})
		return n == 1 && c == 3
	})
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"runbooker_jobs_created_total", map[string]string{"group": "cloud"}, 4},
		{"runbooker_jobs_created_total", map[string]string{"group": "onprem"}, 1},
		{"runbooker_job_dispatch_latency_seconds", map[string]string{"group": "cloud"}, 4},
		{"runbooker_job_duration_seconds", map[string]string{"group": "cloud"}, 4},
		{"runbooker_jobs_queued", map[string]string{"group": "onprem"}, 1},
		{"runbooker_jobs_queued", map[string]string{"group": "cloud"}, 0},
		{"runbooker_workers_online", map[string]string{"group": "cloud"}, 1},
		{"runbooker_workers_online", map[string]string{"group": "onprem"}, 0},
		{"runbooker_store_errors_total", map[string]string{"operation": "finish"}, 0},
		{"runbooker_syncs_total", map[string]string{"result": "failed"}, 0},
		{"runbooker_schedule_firings_total", nil, 0},
		{"runbooker_webhook_firings_total", nil, 1},
	} {
		if got, ok := sample(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if age, _ := sample(fams, "runbooker_jobs_queued_oldest_age_seconds", map[string]string{"group": "onprem"}); age < 120 {
		t.Errorf("onprem's oldest queued job is %v s old, want at least 120", age)
	}
	if n, _ := sample(fams, "runbooker_stream_records_total", nil); n < 4 {
		t.Errorf("stream records stored = %v, want at least one per job", n)
	}
	if _, ok := sample(fams, "go_goroutines", nil); !ok {
		t.Error("no Go runtime metrics")
	}
	for _, id := range ids {
		if strings.Contains(text, id) {
			t.Errorf("job id %s appears in /metrics", id)
		}
	}
	if strings.Contains(text, "org_general_ok") {
		t.Error("a runbook name appears in /metrics without --metrics-runbook-labels")
	}

	for _, tok := range []string{"", "scrape-token-7f3b"} {
		if st, body := s.scrape(tok); st != http.StatusUnauthorized || strings.Contains(body, "runbooker_") {
			t.Errorf("scrape with token %q: %d %.80s", tok, st, body)
		}
	}
}

// Without a token /metrics answers loopback clients (the check of others
// is unit-tested in package metrics); without --metrics it is not there.
func TestMetricsLoopbackAndOff(t *testing.T) {
	on := startServer(t, func(c *ServeConfig) { c.Metrics = MetricsFlags{On: true, RunbookLabels: true} })
	on.put("org_general_named", runbooker.LangBash, "echo hi\n")
	on.runJSON("org_general_named", nil)
	eventually(t, 10*time.Second, "the job counted with its runbook", func() bool {
		st, body := on.scrape("")
		if st != 200 {
			t.Fatalf("loopback scrape without a token: %d %.200s", st, body)
		}
		n, _ := sample(families(t, body), "runbooker_jobs_finished_total",
			map[string]string{"group": "cloud", "runbook": "org_general_named", "status": "Completed"})
		return n == 1
	})

	off := startServer(t)
	if st, body := off.scrape(""); st == 200 && strings.Contains(body, "runbooker_jobs_created_total") {
		t.Errorf("/metrics served without --metrics")
	}
}

func TestMetricsFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUNBOOKER_METRICS_TOKEN", "from-env")
	c, err := serveFlags([]string{"--metrics", "--metrics-token-file", file})
	if err != nil || !c.Metrics.On || c.Metrics.Token != "from-file" {
		t.Errorf("token file: %v %+v", err, c.Metrics)
	}
	c, err = serveFlags([]string{"--metrics"})
	if err != nil || c.Metrics.Token != "from-env" {
		t.Errorf("token from the environment: %v %+v", err, c.Metrics)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	for _, args := range [][]string{
		{"--metrics-token-file", file},
		{"--metrics-runbook-labels"},
		{"--metrics", "--metrics-token-file", empty},
		{"--metrics", "--metrics-token-file", filepath.Join(dir, "missing")},
	} {
		if _, err := serveFlags(args); err == nil {
			t.Errorf("serve %v: no error", args)
		}
	}
}
