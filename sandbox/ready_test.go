package sandbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbooker/runbooker"
)

// Spec.Ready is asked once the job is prepared and before its process
// starts: a refusal starts nothing and leaves no job directory; a yes runs
// the job as usual.
func TestReadyGatesTheProcessStart(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	spec := bash(`pwd; touch ` + marker)
	var askedBeforeStart bool
	spec.Ready = func() error {
		_, err := os.Stat(marker)
		askedBeforeStart = os.IsNotExist(err)
		return nil
	}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	if !askedBeforeStart || res.Aborted {
		t.Fatalf("Ready asked before the start: %v; aborted: %v", askedBeforeStart, res.Aborted)
	}
	if out := s.texts(runbooker.StreamOutput); len(out) != 1 {
		t.Fatalf("output %q", out)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}

	spec.Ready = func() error { return errors.New("the job was never stored") }
	res, s = run(t, spec)
	if !res.Aborted || res.Exception != "the job was never stored" || res.ExitCode != -1 {
		t.Fatalf("refused run = %+v", res)
	}
	if len(s.texts(runbooker.StreamOutput)) != 0 {
		t.Fatal("a refused run emitted records")
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the runbook ran although Ready refused (%v)", err)
	}
}
