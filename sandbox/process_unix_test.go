//go:build unix

package sandbox_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// gone reports whether process pid has ended. A zombie counts as ended: it
// runs no code, and in a container nobody may be reaping orphans.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return os.IsNotExist(err)
	}
	// The state follows the command name in parentheses.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d is still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pidSink passes the first output line, a pid, to a channel.
func pidSink(t *testing.T, pids chan<- int) sandbox.Emitter {
	return func(recs []runbooker.StreamRecord) {
		for _, r := range recs {
			if r.Type != runbooker.StreamOutput {
				continue
			}
			pid, err := strconv.Atoi(r.Text)
			if err != nil {
				t.Errorf("not a pid: %q", r.Text)
				continue
			}
			select {
			case pids <- pid:
			default:
			}
		}
	}
}

func TestStopKillsProcessTree(t *testing.T) {
	in := needLanguage(t, runbooker.LangBash)
	// The grandchild runs in a nested shell in the background; the runbook
	// itself waits in a foreground sleep.
	spec := bash(`bash -c 'sleep 1000 & echo $!; wait' &
sleep 1000`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pids := make(chan int, 1)
	done := make(chan sandbox.Result, 1)
	go func() { done <- in.Run(ctx, spec, pidSink(t, pids)) }()
	var pid int
	select {
	case pid = <-pids:
	case <-time.After(30 * time.Second):
		t.Fatal("the runbook did not report its grandchild")
	}
	cancel()
	select {
	case res := <-done:
		wantStatus(t, res, runbooker.StatusStopped)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the stop")
	}
	waitGone(t, pid)
}

func TestTimeout(t *testing.T) {
	spec := bash(`sleep 1000 & echo $!; sleep 1000`)
	spec.Timeout = 300 * time.Millisecond
	start := time.Now()
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "runtime limit of 300ms") {
		t.Errorf("exception %q does not name the limit", res.Exception)
	}
	if d := time.Since(start); d > sandbox.KillGrace+5*time.Second {
		t.Errorf("a 300ms limit took %v", d)
	}
	pid, _ := strconv.Atoi(s.texts(runbooker.StreamOutput)[0])
	waitGone(t, pid)
}

func TestSIGTERMIgnoredStillStops(t *testing.T) {
	spec := bash(`trap '' TERM; sleep 1000`)
	spec.Timeout = 200 * time.Millisecond
	res, _ := run(t, spec)
	wantStatus(t, res, runbooker.StatusFailed)
}

func TestLeftoverBackgroundProcessDiesWithJob(t *testing.T) {
	start := time.Now()
	res, s := run(t, bash(`sleep 1000 & echo $!`))
	wantStatus(t, res, runbooker.StatusCompleted)
	if d := time.Since(start); d >= sandbox.DrainDelay {
		t.Errorf("Run waited %v for a leftover process", d)
	}
	pid, _ := strconv.Atoi(s.texts(runbooker.StreamOutput)[0])
	waitGone(t, pid)
}

func TestEscapedProcessDoesNotHangTheJob(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	// The runbook waits until its child has its own session (field 6 of
	// /proc/PID/stat), so the end-of-job sweep cannot catch it first.
	res, s := run(t, bash(`setsid sleep 1000 & pid=$!
until [ "$(cut -d' ' -f6 /proc/$pid/stat)" = "$pid" ]; do :; done
echo $pid`))
	out := s.texts(runbooker.StreamOutput)
	if len(out) > 0 {
		if pid, err := strconv.Atoi(out[0]); err == nil {
			defer syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	wantStatus(t, res, runbooker.StatusCompleted)
	if w := s.texts(runbooker.StreamWarning); len(w) != 1 || !strings.Contains(w[0], "not collected") {
		t.Errorf("warnings %q", w)
	}
}

func TestOnStartGetsThePid(t *testing.T) {
	got := make(chan int, 1)
	spec := bash(`echo $$`)
	spec.OnStart = func(pid int) { got <- pid }
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	if pid := <-got; strconv.Itoa(pid) != s.texts(runbooker.StreamOutput)[0] {
		t.Errorf("OnStart got %d, the runbook says %v", pid, s.texts(runbooker.StreamOutput))
	}
}

func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("RunAs needs a worker running as root")
	}
	spec := bash(`id -u; id -g; touch written && echo wrote`)
	spec.RunAs = &sandbox.Credential{UID: 65534, GID: 65534}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"65534", "65534", "wrote"})
}

func TestResolveInterpretersAvoidsShims(t *testing.T) {
	in := needLanguage(t, runbooker.LangPython)
	head := make([]byte, 2)
	f, err := os.Open(in.Python)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Read(head); err != nil {
		t.Fatal(err)
	}
	if string(head) == "#!" {
		t.Errorf("%s is a script (a shim?), not the interpreter", in.Python)
	}
	// A runbook's own python3 works although HOME is the job directory,
	// which breaks pyenv's shims.
	res, s := run(t, bash(`python3 -c 'print("py ok")'`))
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"py ok"})
}

// TestWorkerDeathKillsJobs runs a job in a child "worker" (this test binary
// again), kills that worker with SIGKILL and checks that the job's
// background process dies too.
func TestWorkerDeathKillsJobs(t *testing.T) {
	if os.Getenv("RB_SANDBOX_TEST_WORKER") == "1" {
		in := sandbox.ResolveInterpreters()
		in.Run(context.Background(), bash(`sleep 1000 & echo $!; wait`), func(recs []runbooker.StreamRecord) {
			for _, r := range recs {
				os.Stdout.WriteString(r.Text + "\n")
			}
		})
		return
	}
	needLanguage(t, runbooker.LangBash)
	worker := exec.Command(os.Args[0], "-test.run=^TestWorkerDeathKillsJobs$")
	worker.Env = append(os.Environ(), "RB_SANDBOX_TEST_WORKER=1")
	out, err := worker.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = worker.Process.Kill()
		t.Fatalf("the worker did not report its job: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("not a pid: %q", line)
	}
	_ = worker.Process.Kill()
	_ = worker.Wait()
	waitGone(t, pid)
}
