package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Peers: other job queues measured on the queue-only work in the same run
// (`runbooker bench --db postgres://… --peers river`). Each peer is a
// program of its own, built from a separate Go module under bench/ (River:
// bench/river), so that no peer enters Runbooker's dependencies. The
// program takes --db (the PostgreSQL server; it makes its own databases),
// --jobs, --workers, --batch and --runs, and prints one JSON object of
// jobs per second per run: percall, batched and burndown, the same three
// runs the queue-only figures make.

// peer is a resolved --peers entry.
type peer struct{ name, prog string }

// peerFigures are one peer's jobs per second, by run.
type peerFigures map[string]float64

// peerProgram finds the program of peer spec: "river" (runbooker-river-bench
// on PATH, else bench/river built from the source tree the bench runs in)
// or "river=PATH", PATH being the program or its module's directory. A
// directory is built with the go command into dir.
func peerProgram(ctx context.Context, spec, dir string) (name, prog string, err error) {
	name, path, _ := strings.Cut(spec, "=")
	if name != "river" {
		return "", "", fmt.Errorf("--peers: unknown peer %q (known: river)", name)
	}
	if path == "" {
		if p, err := exec.LookPath("runbooker-river-bench"); err == nil {
			return name, p, nil
		}
		if path = findModule(filepath.Join("bench", "river")); path == "" {
			return "", "", errors.New("--peers river: runbooker-river-bench is not on PATH and no bench/river module was found above the current directory; give --peers river=PATH (the program, or the bench/river directory of a Runbooker source tree)")
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("--peers %s: %w", name, err)
	}
	if !st.IsDir() {
		return name, path, nil
	}
	prog = filepath.Join(dir, name+"-bench")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", prog, ".")
	cmd.Dir = path
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("--peers %s: building %s: %v\n%s", name, path, err, out)
	}
	return name, prog, nil
}

// findModule looks for rel (a directory holding go.mod) in the current
// directory and each one above it.
func findModule(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// runPeer runs a peer program on the server for runs (comma-separated:
// percall, batched, burndown, as the queue-only figures name them) and
// returns its figures.
func runPeer(ctx context.Context, prog, server string, jobs, workers, batch int, runs string) (peerFigures, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, "--db", server, "--jobs", strconv.Itoa(jobs), "--workers", strconv.Itoa(workers),
		"--batch", strconv.Itoa(batch), "--runs", runs)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(prog), err, strings.TrimSpace(stderr.String()))
	}
	var f peerFigures
	if err := json.Unmarshal(stdout.Bytes(), &f); err != nil {
		return nil, fmt.Errorf("%s printed no figures: %v", filepath.Base(prog), err)
	}
	for _, run := range strings.Split(runs, ",") {
		if f[run] <= 0 {
			return nil, fmt.Errorf("%s gave no %s figure", filepath.Base(prog), run)
		}
	}
	return f, nil
}
