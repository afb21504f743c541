package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// isolated returns interpreters with every protection on, or skips the test
// where that cannot be had (not root): CI runs as root.
func isolated(t *testing.T, cfg sandbox.IsolationConfig) sandbox.Interpreters {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("job isolation needs root (CI runs the tests as root)")
	}
	in := sandbox.ResolveInterpreters()
	in.TempRoot = jobRoot(t)
	cfg.Mode = sandbox.IsolationStrict
	ps, err := in.Isolate(cfg)
	if err != nil {
		t.Fatalf("isolation: %v\n%s", err, ps)
	}
	t.Cleanup(in.Close)
	return in
}

// jobRoot is a directory job users can pass through, as they can through
// /tmp or /dev/shm (t.TempDir sits in a 0700 directory).
func jobRoot(t *testing.T) string {
	dir, err := os.MkdirTemp("", "rb-isolation-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runIn(t *testing.T, in sandbox.Interpreters, spec sandbox.Spec) (sandbox.Result, *sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &sink{t: t}
	return in.Run(ctx, spec, s.emit), s
}

func TestIsolatedJobHasItsOwnUserAndPIDNamespace(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{UIDBase: 300000, UIDCount: 8})
	res, s := runIn(t, in, bash(`id -u; id -g; id -G; echo "pid $$"; ls /proc | grep -c '^[0-9]'`))
	wantStatus(t, res, runbooker.StatusCompleted)
	out := s.texts(runbooker.StreamOutput)
	if len(out) != 5 {
		t.Fatalf("output %q", out)
	}
	uid, _ := strconv.Atoi(out[0])
	if uid < 300000 || uid >= 300008 || out[1] != out[0] || out[2] != out[0] {
		t.Errorf("uid %s gid %s groups %s, want one id of 300000-300007 and no other group", out[0], out[1], out[2])
	}
	if out[3] != "pid 1" {
		t.Errorf("the runbook is %q in its namespace, want pid 1", out[3])
	}
	// bash, ls, grep and the command substitution at most: none of the
	// host's processes.
	if n, _ := strconv.Atoi(out[4]); n < 1 || n > 5 {
		t.Errorf("the job sees %d processes in /proc", n)
	}
}

func TestIsolatedJobsCannotReadEachOthersEnvironment(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	victim := bash(`echo ready; sleep 30`)
	victim.Env = map[string]string{"RB_ASSET_TOKEN": "victim-token-4711"}
	ready := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan sandbox.Result, 1)
	go func() {
		done <- in.Run(ctx, victim, func(recs []runbooker.StreamRecord) { once.Do(func() { close(ready) }) })
	}()
	select {
	case <-ready:
	case <-time.After(time.Minute):
		t.Fatal("the victim job did not start")
	}
	// The attacker looks for the token everywhere it can: every process's
	// environment and command line, and the parent of its parent.
	res, s := runIn(t, in, bash(`
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\0' '\n' < "$f" 2>/dev/null; done | grep -c "victim-tok[e]n-4711" || true
cat /proc/$PPID/cmdline 2>&1 | head -c 100; echo
ls /proc | grep -c '^[0-9]'`))
	cancel()
	<-done
	wantStatus(t, res, runbooker.StatusCompleted)
	out := s.texts(runbooker.StreamOutput)
	if len(out) < 1 || out[0] != "0" {
		t.Errorf("the attacker found the victim's token: %q", out)
	}
	if strings.Contains(strings.Join(out, "\n"), "runbooker") || strings.Contains(strings.Join(out, "\n"), ".test") {
		t.Errorf("the attacker read its worker's command line: %q", out)
	}
}

func TestIsolatedJobCannotSeeHiddenPathsOrWriteOutsideItsDirectory(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "master.key"), []byte("MASTER-KEY-BYTES"), 0o644); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "tls.key")
	if err := os.WriteFile(keyFile, []byte("TLS-KEY-BYTES"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := isolated(t, sandbox.IsolationConfig{Hide: []string{data, keyFile}})
	spec := bash(`
ls -A "$DATA" | wc -l
cat "$DATA/master.key" "$KEY" 2>/dev/null; echo "[read]"
for d in /tmp /dev/shm /var/tmp "$HOME/.." /; do touch "$d/rb-planted" 2>/dev/null && echo "wrote $d"; done
touch "$HOME/mine" && echo "wrote home"
df -P / | tail -n 1 | awk '{print "df " $6}'`)
	spec.Env = map[string]string{"DATA": data, "KEY": keyFile}
	res, s := runIn(t, in, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	// df reads the mount table: the jail's, in which "/" is mounted.
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"0", "[read]", "wrote home", "df /"})
	for _, d := range []string{"/tmp", "/dev/shm", "/var/tmp"} {
		if _, err := os.Stat(filepath.Join(d, "rb-planted")); err == nil {
			os.Remove(filepath.Join(d, "rb-planted"))
			t.Errorf("the job planted a file in %s", d)
		}
	}
	// The jail's mounts are in the tests' own mount namespace, not the
	// host's (the init process's).
	if b, err := os.ReadFile("/proc/1/mountinfo"); err == nil && bytes.Contains(b, []byte(filepath.Base(data))) {
		t.Errorf("the host's mount table shows the jail")
	}
}

func TestIsolatedJobLeavesNoProcessBehind(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	marker := "1002." + strconv.Itoa(os.Getpid())
	res, s := runIn(t, in, bash(`setsid sleep `+marker+` & (sleep `+marker+` &) ; nohup sleep `+marker+` >/dev/null 2>&1 & echo started`))
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"started"})
	// The namespace's processes are gone by the time Run returns.
	if pids := processesWithArg(marker); len(pids) > 0 {
		t.Errorf("processes outlived their job: %v", pids)
	}
	for _, r := range s.records() {
		if r.Type == runbooker.StreamWarning {
			t.Errorf("unexpected warning %q", r.Text)
		}
	}
}

// processesWithArg lists the host's processes with arg in their command line.
func processesWithArg(arg string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte("\x00"+arg)) {
			out = append(out, filepath.Base(filepath.Dir(f)))
		}
	}
	return out
}

func TestIsolatedJobOverItsMemoryLimitFails(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	spec := bash(`x=$(head -c 300000000 /dev/zero | tr '\0' a); echo ${#x}`)
	spec.Limits = sandbox.Limits{MemoryBytes: 64 << 20}
	res, _ := runIn(t, in, spec)
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "memory limit of 64 MiB") {
		t.Errorf("exception %q does not name the memory limit", res.Exception)
	}
}

func TestIsolatedForkBombStaysInItsJob(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	bomb := bash(`bomb() { bomb | bomb & }; bomb; sleep 5`)
	bomb.Limits = sandbox.Limits{MaxProcs: 64}
	bomb.Timeout = 3 * time.Second
	done := make(chan sandbox.Result, 1)
	go func() {
		res, _ := runIn(t, in, bomb)
		done <- res
	}()
	// Another job, started while the bomb goes off, runs normally.
	time.Sleep(500 * time.Millisecond) // let the bomb fill its quota first
	res, s := runIn(t, in, bash(`for i in 1 2 3; do echo $i; done`))
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"1", "2", "3"})
	if r := <-done; r.Status != runbooker.StatusFailed || !strings.Contains(r.Exception, "runtime limit") {
		t.Errorf("the bomb ended %s: %q", r.Status, r.Exception)
	}
}

func TestIsolatedJobRefusesRootRunAs(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	spec := bash(`id -u`)
	spec.RunAs = &sandbox.Credential{UID: 0, GID: 0}
	res, _ := runIn(t, in, spec)
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "root") {
		t.Errorf("exception %q", res.Exception)
	}
}

func TestIsolatedJobUnderRunAsAndPython(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	if in.Python == "" {
		t.Skip("no python3 that job users can start")
	}
	spec := sandbox.Spec{Language: runbooker.LangPython, Script: []byte("import os\nprint(os.getuid(), os.getcwd() == os.environ['HOME'])\n")}
	spec.RunAs = &sandbox.Credential{UID: 65534, GID: 65534}
	res, s := runIn(t, in, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"65534 True"})
}

func TestStoppingAnIsolatedJob(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	spec := bash(`sleep 60; echo "not stopped"`)
	spec.OnStart = func(int) { close(started) }
	done := make(chan sandbox.Result, 1)
	go func() { done <- in.Run(ctx, spec, nil) }()
	var res sandbox.Result
	select {
	case <-started:
		cancel()
		res = <-done
	case res = <-done:
	}
	wantStatus(t, res, runbooker.StatusStopped)
}

func TestIsolateRejectsUnknownMode(t *testing.T) {
	in := sandbox.ResolveInterpreters()
	in.TempRoot = t.TempDir()
	if _, err := in.Isolate(sandbox.IsolationConfig{Mode: "paranoid"}); err == nil || !strings.Contains(err.Error(), "paranoid") {
		t.Errorf("err = %v", err)
	}
	in.Close()
}

// TestTwoJailsInOneProcess: a second worker's jail does not copy the
// first's, so once the first is closed its hidden directory can go.
func TestTwoJailsInOneProcess(t *testing.T) {
	first := t.TempDir()
	a := isolated(t, sandbox.IsolationConfig{Hide: []string{first}})
	b := isolated(t, sandbox.IsolationConfig{Hide: []string{t.TempDir()}})
	res, _ := runIn(t, b, bash(`true`))
	wantStatus(t, res, runbooker.StatusCompleted)
	a.Close()
	if err := os.RemoveAll(first); err != nil {
		t.Errorf("the first jail's hidden directory stays busy: %v", err)
	}
}
