package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/runbooker/runbooker"
)

// The gate fails closed: closed without its word (the worker died, or
// refused), bash ends with 125 and the runbook never runs; with it, the
// runbook runs.
func TestTheGateFailsClosed(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if !gatesBash(bash) {
		t.Fatalf("bash at %s does not source BASH_ENV from /dev/fd", bash)
	}
	for _, word := range []bool{false, true} {
		marker := filepath.Join(t.TempDir(), "ran")
		cmd := exec.Command(bash, "-c", "touch "+marker)
		g, err := startGated(Spec{Language: runbooker.LangBash}, nil, cmd)
		if err != nil || g == nil {
			t.Fatalf("gated start: %v, %v", g, err)
		}
		if word {
			g.open()
		} else {
			g.w.Close()
		}
		err = cmd.Wait()
		_, statErr := os.Stat(marker)
		if word && (err != nil || statErr != nil) {
			t.Fatalf("with the word: %v; marker: %v", err, statErr)
		}
		if !word && (cmd.ProcessState.ExitCode() != 125 || statErr == nil) {
			t.Fatalf("without the word: exit %d, marker %v (want 125 and no marker)", cmd.ProcessState.ExitCode(), statErr)
		}
	}
}

// A bash that does not source BASH_ENV from /dev/fd is not gated.
func TestTheGateProbeRefusesABashThatIgnoresBASH_ENV(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "bash")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nprintf unsourced\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if gatesBash(fake) {
		t.Fatal("a bash that ignores BASH_ENV passed the probe")
	}
	g, err := startGated(Spec{Language: runbooker.LangBash}, nil, exec.Command(fake, "-c", "true"))
	if g != nil || err != nil {
		t.Fatalf("gated start with a failed probe: %v, %v (want nothing started)", g, err)
	}
}
