package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A warm bash whose job is cut short (the worker died while writing it, or
// closed the pipe without it) runs nothing of it and ends with status 125;
// the whole job runs.
func TestAWarmBashCutShortRunsNothing(t *testing.T) {
	in := ResolveInterpreters()
	if in.Bash == "" || !gatesBash(in.Bash) {
		t.Skip("no bash that sources BASH_ENV from /dev/fd")
	}
	in.TempRoot = t.TempDir()
	markers := t.TempDir()
	for _, cut := range []string{"nothing", "half", "before rb_go", "in rb_go", "whole"} {
		w, err := in.startWarm(nil)
		if err != nil {
			t.Fatal(err)
		}
		marker := filepath.Join(markers, strings.ReplaceAll(cut, " ", "-"))
		text, ok := warmJob(w.cmd.Env, []string{"PATH=/usr/bin:/bin"}, "touch "+marker+"; exit 7", []string{"a"})
		if !ok {
			t.Fatal("warmJob refused plain variables")
		}
		n := map[string]int{"nothing": 0, "half": len(text) / 2, "before rb_go": len(text) - len("rb_go=1\n"),
			"in rb_go": len(text) - len("1\n"), "whole": len(text)}[cut]
		if _, err := w.payload.Write(text[:n]); err != nil {
			t.Fatal(err)
		}
		w.payload.Close()
		w.payload = nil
		err = w.cmd.Wait()
		var exit *exec.ExitError
		code := 0
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		} else if exit != nil {
			code = exit.ExitCode()
		}
		_, statErr := os.Stat(marker)
		if cut == "whole" {
			if code != 7 || statErr != nil {
				t.Fatalf("the whole job: exit %d, marker %v; want 7 and the marker", code, statErr)
			}
		} else if code != 125 || statErr == nil {
			t.Fatalf("cut %s: exit %d, marker made %v; want 125 and nothing run", cut, code, statErr == nil)
		}
		w.cmd = nil // waited for
		w.discard(in)
	}
}
