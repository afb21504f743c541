package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
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

// The warm pool fills only while fewer jobs run than half the cores: on a
// machine of fewer than four it waits for the job that took its bash to
// end, on a bigger one it refills beside it; after the job, it refills.
func TestTheWarmPoolRefillsOnlyWhileHalfTheCoresAreFree(t *testing.T) {
	for ncpu, want := range map[int]int32{1: 1, 2: 1, 3: 1, 4: 2, 8: 4, 64: 32} {
		if got := warmIdleBelow(ncpu); got != want {
			t.Errorf("warmIdleBelow(%d) = %d, want %d", ncpu, got, want)
		}
	}
	in := ResolveInterpreters()
	if in.Bash == "" || !gatesBash(in.Bash) {
		t.Skip("no bash that sources BASH_ENV from /dev/fd")
	}
	in.TempRoot = t.TempDir()
	in.KeepWarm(1)
	defer in.Close()
	p := in.warm
	ready := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle) == 1
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
		}
	}
	waitFor("the pool is full", ready)
	done := make(chan Result, 1)
	go func() {
		done <- in.Run(context.Background(), Spec{Language: runbooker.LangBash, Script: []byte("sleep 0.6")}, nil)
	}()
	waitFor("the job took the warm bash", func() bool { return p.taken.Load() == 1 })
	refillsBeside := 1 < warmIdleBelow(runtime.NumCPU())
	if refillsBeside {
		waitFor("the pool refills beside the job", ready)
	} else {
		for range 40 {
			p.mu.Lock()
			busy := p.filling || len(p.idle) > 0
			p.mu.Unlock()
			if busy {
				t.Fatalf("on %d cores the pool refilled while the job ran", runtime.NumCPU())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if res := <-done; res.Status != runbooker.StatusCompleted {
		t.Fatalf("the job: %+v", res)
	}
	waitFor("the pool refills after the job", ready)
}
