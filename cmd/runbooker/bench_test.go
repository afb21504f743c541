package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbooker/runbooker/bench"
)

// `runbooker bench` measures on a Main (package bench tests the figures
// themselves): its flags reach the bench and its figures come out as JSON.
func TestBenchCommandMeasuresOnMain(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"bench", "--json", "--only", "queue,sync", "--queue-jobs", "600", "--latency-jobs", "20"}
	if code := run(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("bench exited %d: %s", code, errb.String())
	}
	var res struct {
		Engine  string         `json:"engine"`
		Figures []bench.Figure `json:"figures"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench output is not JSON: %v\n%s", err, out.String())
	}
	names := map[string]bool{}
	for _, f := range res.Figures {
		names[f.Name] = f.Value > 0
	}
	for _, want := range []string{"queue only (no processes)", "queue only, created in batches of 500", "sync run p50 (trivial bash)"} {
		if !names[want] {
			t.Errorf("figure %q missing or zero; got %+v", want, res.Figures)
		}
	}
	if !strings.HasPrefix(res.Engine, "sqlite:") || !strings.Contains(errb.String(), "bench: sync run vs bare bash start: 20 each") {
		t.Errorf("engine %q, progress %q", res.Engine, errb.String())
	}
}
