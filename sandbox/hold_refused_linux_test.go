package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"golang.org/x/sys/unix"
)

// Should the kernel refuse to let a held process go, the process (which
// never ran) is killed and the job starts the ordinary way: it runs once,
// and later jobs of the worker are not held at all.
func TestARefusedReleaseStartsTheJobAnew(t *testing.T) {
	in := ResolveInterpreters()
	if in.Python == "" {
		t.Skip("python3 is not installed (Bash jobs wait at a gate instead: gate_linux.go)")
	}
	in.TempRoot = t.TempDir()
	refusals := 0
	detach = func(int) error { refusals++; return syscall.EPERM }
	t.Cleanup(func() { detach, _ = unix.PtraceDetach, holdRefused.Swap(false) })

	counter := filepath.Join(t.TempDir(), "runs")
	run := func() (Result, []string) {
		var out []string
		spec := Spec{JobID: runbooker.NewUUID(), Language: runbooker.LangPython,
			Script: []byte("with open(" + strconv.Quote(counter) + ", 'a') as f:\n    f.write('ran\\n')\nprint('ok')\n"), Ready: func() error { return nil }}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res := in.Run(ctx, spec, func(recs []runbooker.StreamRecord) {
			for _, r := range recs {
				out = append(out, r.Text)
			}
		})
		return res, out
	}
	res, out := run()
	if res.Status != runbooker.StatusCompleted || len(out) != 1 || out[0] != "ok" {
		t.Fatalf("first job: %+v, output %q", res, out)
	}
	if refusals != 1 || !holdRefused.Load() {
		t.Fatalf("%d refusals, holding off: %v", refusals, holdRefused.Load())
	}
	res, out = run()
	if res.Status != runbooker.StatusCompleted || len(out) != 1 {
		t.Fatalf("second job: %+v, output %q", res, out)
	}
	if refusals != 1 {
		t.Fatalf("the second job was held again (%d refusals)", refusals)
	}
	b, err := os.ReadFile(counter)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "ran"); n != 2 {
		t.Fatalf("the runbooks ran %d times for two jobs", n)
	}
}
