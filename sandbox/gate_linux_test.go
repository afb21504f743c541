package sandbox_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// checkGatedStart runs a Bash job whose Ready takes a while: its process
// is up, asleep at the gate, and nothing of the runbook has run while
// Ready is asked; afterwards the runbook sees neither BASH_ENV nor the
// gate's descriptors, and $_ as bash sets it.
func checkGatedStart(t *testing.T, in sandbox.Interpreters) {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "ran")
	_ = os.Chmod(filepath.Dir(marker), 0o777) // an isolated job writes it as its own user
	spec := bash(`u=$_; touch ` + marker + `; echo "env:${BASH_ENV-unset}"; for f in 3 4; do [ -e /proc/$$/fd/$f ] && echo "fd $f open"; done; echo "u:$u"`)
	spec.JobID = runbooker.NewUUID()
	var during map[string]string
	var ranEarly bool
	spec.Ready = func() error {
		// bash may still be starting up: wait until it sleeps (at its
		// gate), and a while longer, time enough for a runbook that was
		// not held to run.
		deadline := time.Now().Add(5 * time.Second)
		for during = heldProcesses(spec.JobID); !asleep(during) && time.Now().Before(deadline); during = heldProcesses(spec.JobID) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		_, err := os.Stat(marker)
		ranEarly = err == nil
		return nil
	}
	res, s := runIn(t, in, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	checkWaitedForReady(t, ranEarly, during, "S", "asleep at its gate")
	out := s.texts(runbooker.StreamOutput)
	if len(out) != 2 || out[0] != "env:unset" || out[1] != "u:"+in.Bash {
		t.Fatalf("output %q, want BASH_ENV unset, the gate's descriptors closed and $_ %s", out, in.Bash)
	}
}

func TestABashJobWaitsAtItsGateWhileReadyIsAsked(t *testing.T) {
	checkGatedStart(t, needLanguage(t, runbooker.LangBash))
}

func TestAnIsolatedBashJobWaitsAtItsGateToo(t *testing.T) {
	checkGatedStart(t, isolated(t, sandbox.IsolationConfig{}))
}

// A refusal kills the gated process, the runbook unrun, and leaves nothing.
func TestAGatedProcessDiesWithARefusal(t *testing.T) {
	for _, iso := range []bool{false, true} {
		var in sandbox.Interpreters
		if iso {
			in = isolated(t, sandbox.IsolationConfig{})
		} else {
			in = needLanguage(t, runbooker.LangBash)
		}
		marker := filepath.Join(t.TempDir(), "ran")
		_ = os.Chmod(filepath.Dir(marker), 0o777)
		spec := bash(`touch ` + marker + `; echo should not run`)
		spec.JobID = runbooker.NewUUID()
		gated := 0
		spec.Ready = func() error {
			deadline := time.Now().Add(5 * time.Second)
			for gated = len(heldProcesses(spec.JobID)); gated == 0 && time.Now().Before(deadline); gated = len(heldProcesses(spec.JobID)) {
				time.Sleep(time.Millisecond)
			}
			return errors.New("not stored")
		}
		res, s := runIn(t, in, spec)
		if !res.Aborted || len(s.texts(runbooker.StreamOutput)) != 0 {
			t.Fatalf("isolated %v: result %+v, output %q", iso, res, s.texts(runbooker.StreamOutput))
		}
		if gated != 1 {
			t.Fatalf("isolated %v: %d gated processes while Ready was asked, want 1", iso, gated)
		}
		if left := heldProcesses(spec.JobID); len(left) != 0 {
			t.Fatalf("isolated %v: processes left after the refusal: %v", iso, left)
		}
		if _, err := os.Stat(marker); !os.IsNotExist(err) {
			t.Fatalf("isolated %v: the runbook ran although Ready refused (%v)", iso, err)
		}
	}
}

// A parameter too big for the command line reaches the runbook through the
// prelude BASH_ENV named (bashParams): the gate sources it after the "go".
func TestAGatedJobStillReadsItsBigParameters(t *testing.T) {
	big := strings.Repeat("x", sandbox.BashInlineMax+1)
	spec := bash(`echo "${#RB_PARAM_Big} $# ${#2} env:${BASH_ENV-unset}"`)
	spec.Params = map[string]any{"Big": big}
	spec.JobID = runbooker.NewUUID()
	spec.Ready = func() error { return nil }
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	want := fmt.Sprintf("%d 2 %d env:unset", len(big), len(big))
	if out := s.texts(runbooker.StreamOutput); len(out) != 1 || out[0] != want {
		t.Fatalf("output %q, want %q", out, want)
	}
}

// A script too big for the command line runs from its file (inlineBash):
// bash sources the gate before it opens the file, the same way.
func TestAGatedJobRunsAScriptFromItsFile(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	spec := bash("# " + strings.Repeat("padding ", 10<<10) + "\ntouch " + marker + "; echo \"$0 ${BASH_ENV-unset}\"\n")
	spec.JobID = runbooker.NewUUID()
	var ranEarly bool
	spec.Ready = func() error {
		time.Sleep(50 * time.Millisecond)
		_, err := os.Stat(marker)
		ranEarly = err == nil
		return nil
	}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	if ranEarly {
		t.Fatal("the runbook ran before Ready answered")
	}
	if out := s.texts(runbooker.StreamOutput); len(out) != 1 || out[0] != "runbook.sh unset" {
		t.Fatalf("output %q", out)
	}
}

// asleep reports whether ps is one process, sleeping.
func asleep(ps map[string]string) bool {
	for _, state := range ps {
		return len(ps) == 1 && state == "S"
	}
	return false
}
