package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// heldProcesses finds the processes whose working directory (the job's
// directory) holds s, with the state letter of each (/proc/PID/stat: "t"
// is stopped by its tracer).
func heldProcesses(s string) map[string]string {
	out := map[string]string{}
	files, _ := filepath.Glob("/proc/[0-9]*/cwd")
	for _, f := range files {
		dir, err := os.Readlink(f)
		if err != nil || !strings.Contains(dir, s) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(filepath.Dir(f), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) S ...: the state follows the last ')'.
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) {
			out[filepath.Base(filepath.Dir(f))] = string(stat[i+2])
		}
	}
	return out
}

// needTracing skips where the kernel allows no tracing at all, where jobs
// start after Ready instead (Yama's ptrace_scope 3).
func needTracing(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); err == nil && strings.TrimSpace(string(b)) == "3" {
		t.Skip("ptrace_scope 3: no process may be traced here, so a held start cannot be tested")
	}
}

func checkHeldStart(t *testing.T, run func(sandbox.Spec) (sandbox.Result, []string)) {
	t.Helper()
	needTracing(t)
	marker := filepath.Join(t.TempDir(), "ran")
	// A Python job: a Bash job waits at a gate instead (gate_linux.go).
	spec := python(`print([l.rstrip("\n") for l in open("/proc/self/status") if l.startswith("TracerPid")][0])
try:
    open(` + strconv.Quote(marker) + `, "w").close()
except OSError:
    pass
print("done")
`)
	spec.JobID = runbooker.NewUUID()
	var during map[string]string
	var ranEarly bool
	spec.Ready = func() error {
		during = heldProcesses(spec.JobID)
		_, err := os.Stat(marker)
		ranEarly = err == nil
		return nil
	}
	res, out := run(spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	checkWaitedForReady(t, ranEarly, during, "t", "held at its exec")
	// Once let go the runbook is nobody's tracee.
	if len(out) != 2 || out[0] != "TracerPid:\t0" || out[1] != "done" {
		t.Fatalf("output %q", out)
	}
}

func TestTheProcessIsHeldAtItsExecWhileReadyIsAsked(t *testing.T) {
	checkHeldStart(t, func(spec sandbox.Spec) (sandbox.Result, []string) {
		res, s := run(t, spec)
		return res, s.texts(runbooker.StreamOutput)
	})
}

func TestAnIsolatedProcessIsHeldAtItsExecToo(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	if in.Python == "" {
		t.Skip("python3 is not installed")
	}
	checkHeldStart(t, func(spec sandbox.Spec) (sandbox.Result, []string) {
		res, s := runIn(t, in, spec)
		return res, s.texts(runbooker.StreamOutput)
	})
}

// A refusal kills the held process before it runs an instruction; nothing
// of it is left, not even a zombie.
func TestAHeldProcessDiesWithARefusal(t *testing.T) {
	needTracing(t)
	for _, iso := range []bool{false, true} {
		var in sandbox.Interpreters
		if iso {
			if in = isolated(t, sandbox.IsolationConfig{}); in.Python == "" {
				t.Skip("python3 is not installed")
			}
		} else {
			in = needLanguage(t, runbooker.LangPython)
		}
		spec := python(`print("should not run")`)
		spec.JobID = runbooker.NewUUID()
		held := 0
		spec.Ready = func() error {
			held = len(heldProcesses(spec.JobID))
			return errors.New("not stored")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var emitted int
		res := in.Run(ctx, spec, func(recs []runbooker.StreamRecord) { emitted += len(recs) })
		cancel()
		if !res.Aborted || emitted != 0 {
			t.Fatalf("isolated %v: result %+v, %d records", iso, res, emitted)
		}
		if held != 1 {
			t.Fatalf("isolated %v: %d held processes while Ready was asked, want 1", iso, held)
		}
		if left := heldProcesses(spec.JobID); len(left) != 0 {
			t.Fatalf("isolated %v: processes left after the refusal: %v", iso, left)
		}
	}
}

// checkWaitedForReady fails unless, while Ready was asked, nothing of the
// runbook had run and the job had one process, in the state want (doing
// what, for the message).
func checkWaitedForReady(t *testing.T, ranEarly bool, during map[string]string, want, what string) {
	t.Helper()
	if ranEarly {
		t.Fatal("the runbook ran before Ready answered")
	}
	if len(during) != 1 {
		t.Fatalf("while Ready was asked, processes of the job: %v (want one, %s)", during, what)
	}
	for pid, state := range during {
		if state != want {
			t.Fatalf("process %s of the job was in state %q while Ready was asked, want %s (%s)", pid, state, want, what)
		}
	}
}
