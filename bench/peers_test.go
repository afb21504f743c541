package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker/postgres/pgtest"
)

// fakePeer writes a peer program that prints out (and exits with code).
func fakePeer(t *testing.T, out string, code int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "peer")
	script := "#!/bin/sh\nprintf '%s' '" + out + "'\necho 'peer complaint' >&2\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPeerProgramResolution(t *testing.T) {
	ctx := context.Background()
	if _, _, err := peerProgram(ctx, "sidekiq", t.TempDir()); err == nil || !strings.Contains(err.Error(), `unknown peer "sidekiq"`) {
		t.Errorf("an unknown peer: %v", err)
	}
	if _, _, err := peerProgram(ctx, "river=/nonexistent/river-bench", t.TempDir()); err == nil || !strings.Contains(err.Error(), "/nonexistent/river-bench") {
		t.Errorf("a missing program: %v", err)
	}
	prog := fakePeer(t, "{}", 0)
	if name, got, err := peerProgram(ctx, "river="+prog, t.TempDir()); err != nil || name != "river" || got != prog {
		t.Errorf("river=PROGRAM = %q, %q, %v", name, got, err)
	}
	// A directory that is not a buildable module says what failed.
	if _, _, err := peerProgram(ctx, "river="+t.TempDir(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "building") {
		t.Errorf("an empty directory: %v", err)
	}
}

func TestRunPeerReadsItsFigures(t *testing.T) {
	ctx := context.Background()
	f, err := runPeer(ctx, fakePeer(t, `{"percall":700.5,"batched":8000,"burndown":9000}`, 0), "postgres://x", 10, 128, 500, "percall,batched,burndown")
	if err != nil || f["percall"] != 700.5 || f["batched"] != 8000 || f["burndown"] != 9000 {
		t.Fatalf("runPeer = %v, %v", f, err)
	}
	if _, err := runPeer(ctx, fakePeer(t, `{"percall":700}`, 0), "postgres://x", 10, 128, 500, "percall,batched,burndown"); err == nil || !strings.Contains(err.Error(), "no batched figure") {
		t.Errorf("a peer missing figures: %v", err)
	}
	if _, err := runPeer(ctx, fakePeer(t, `not json`, 0), "postgres://x", 10, 128, 500, "percall,batched,burndown"); err == nil || !strings.Contains(err.Error(), "printed no figures") {
		t.Errorf("a peer printing no JSON: %v", err)
	}
	if _, err := runPeer(ctx, fakePeer(t, ``, 1), "postgres://x", 10, 128, 500, "percall,batched,burndown"); err == nil || !strings.Contains(err.Error(), "peer complaint") {
		t.Errorf("a failing peer: %v (want its stderr)", err)
	}
}

// --peers river builds bench/river (its own module) and runs River on the
// same PostgreSQL server in the same run: each queue-only figure gets
// River's as its baseline, and River's figures are rows of their own.
func TestBenchRunsRiverSideBySide(t *testing.T) {
	pgtest.Require(t)
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is needed to build bench/river")
	}
	dir, err := filepath.Abs("river")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	c := Config{JSON: true, QueueJobs: 300, Latency: 5, Jobs: 5, Lines: 10, Concurrency: 2, JobDir: t.TempDir(),
		Only: "queue", DB: pgtest.AdminURL(), Peers: "river=" + dir}
	if err := Run(context.Background(), c, testEnv(t), &out, &errb); err != nil {
		t.Fatalf("bench --peers river: %v\n%s", err, errb.String())
	}
	var res struct{ Figures []Figure }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	figs := map[string]Figure{}
	for _, f := range res.Figures {
		figs[f.Name] = f
	}
	for ours, theirs := range map[string]string{
		"queue only (no processes)":             "river: queue only, inserted one per call",
		"queue only, created in batches of 500": "river: queue only, inserted in batches of 500",
		"queue only, burn-down of created jobs": "river: queue only, burn-down of inserted jobs (its own benchmark)",
	} {
		o, ok1 := figs[ours]
		r, ok2 := figs[theirs]
		if !ok1 || !ok2 {
			t.Fatalf("missing %q or %q in %v", ours, theirs, res.Figures)
		}
		if r.Value <= 0 || o.Baseline != r.Value || o.Ratio <= 0 || !strings.Contains(o.Target, "ahead of river") {
			t.Errorf("%q = %+v beside %q = %+v", ours, o, theirs, r)
		}
		if o.Met != (o.Ratio > 1) || o.Target != "ahead of river" {
			t.Errorf("%q met = %v for %v jobs/s at ratio %.2f", ours, o.Met, o.Value, o.Ratio)
		}
	}
}
