package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/runbooker/runbooker/postgres/pgtest"
)

// runBench runs `runbooker bench --json` in-process with small counts and
// returns its figures by name.
func runBench(t *testing.T, args ...string) map[string]benchFigure {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"bench", "--json", "--queue-jobs", "600", "--latency-jobs", "20", "--jobs", "40"}, args...)
	if code := run(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("bench exited %d: %s", code, errb.String())
	}
	var res struct {
		Figures []benchFigure `json:"figures"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench output is not JSON: %v\n%s", err, out.String())
	}
	figs := map[string]benchFigure{}
	for _, f := range res.Figures {
		figs[f.Name] = f
	}
	return figs
}

// checkQueueFigures requires both queue-only figures, each a real rate.
func checkQueueFigures(t *testing.T, figs map[string]benchFigure) {
	t.Helper()
	for _, name := range []string{"queue only (no processes)", "queue only, created in batches of 500"} {
		f, ok := figs[name]
		if !ok {
			t.Fatalf("bench did not report %q; got %v", name, figs)
		}
		if f.Unit != "jobs/s" || f.Value <= 0 || f.Met != (f.Value >= 5000) {
			t.Errorf("figure %q = %+v", name, f)
		}
	}
}

// The bench's figures come from real runs: every queued job is finished
// (queueRun fails otherwise) and ratios are against a measured baseline.
func TestBenchReportsQueueAndSyncFiguresOnSQLite(t *testing.T) {
	figs := runBench(t, "--only", "queue,sync")
	checkQueueFigures(t, figs)
	s, ok := figs["sync run p50 (trivial bash)"]
	if !ok || s.Baseline <= 0 || s.Value <= 0 || math.Abs(s.Ratio-s.Value/s.Baseline) > 1e-3*s.Ratio {
		t.Errorf("sync figure = %+v (present %v)", s, ok)
	}
}

func TestBenchReportsQueueFiguresOnPostgres(t *testing.T) {
	pgtest.Require(t)
	checkQueueFigures(t, runBench(t, "--only", "queue", "--db", pgtest.AdminURL()))
}
