package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// warmed is in with n warm bash processes kept (a copy: in itself starts
// every job the ordinary way), ready before it is returned.
func warmed(t *testing.T, in sandbox.Interpreters, n int) sandbox.Interpreters {
	t.Helper()
	w := in
	w.KeepWarm(n)
	t.Cleanup(func() { sandbox.StopWarm(w) })
	if !sandbox.WaitWarm(w, n, 10*time.Second) {
		t.Fatalf("%d warm bash processes were not ready within 10 s", n)
	}
	return w
}

// introspect prints what a runbook can tell about how it was started; the
// job directory's path is the only difference a job may see, and the
// caller replaces it. The shell lists its own descriptors itself (a glob):
// "ls /proc/$$/fd | tr" could catch it still holding the pipe it has just
// made for those two.
const introspect = `u=$_
echo "pwd=$(pwd) uid=$(id -u) PWD=$PWD OLDPWD=${OLDPWD-unset} fresh=$((SECONDS < 2)) big=${#RB_PARAM_Big}"
echo "_=${u:0:20} 0=$0 n=$# flags=$-"; for a in "$@"; do printf '<%s>' "${a:0:20}"; done; echo
declare -p | grep -vE '^declare -[-a-zA-Z]* (BASHPID|RANDOM|SRANDOM|EPOCHREALTIME|EPOCHSECONDS|BASH_COMMAND|PIPESTATUS|SECONDS|_|RB_PARAM_Big|BASH_EXECUTION_STRING|BASH_ARGV|BASH_ARGC)='
echo "BASH_EXECUTION_STRING ${#BASH_EXECUTION_STRING}"
declare -F; set -o; shopt; trap -p; umask; ulimit -a
fds=(/proc/$$/fd/*); echo "fds ${fds[*]##*/}"
env | sort
grep -E '^(Uid|Gid|Groups|NoNewPrivs|CapEff|CapBnd|Seccomp)' /proc/self/status
echo "$LINENO ${BASH_SOURCE[*]-none} ${FUNCNAME[*]-none}"
not_a_command_here
exit 3
`

// A job in a warm bash sees what `bash -c` would have given it: the same
// variables (shell and environment), options, arguments, $0 and $_, the
// same descriptors, identity and limits, the same error messages and exit
// status; and the parameter prelude for a value too big for argv runs as
// it does there.
func TestAWarmBashJobSeesWhatBashCGives(t *testing.T) {
	for _, iso := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", iso), func(t *testing.T) {
			var cold sandbox.Interpreters
			if iso {
				cold = isolated(t, sandbox.IsolationConfig{})
			} else {
				cold = needLanguage(t, runbooker.LangBash)
				cold.TempRoot = t.TempDir()
			}
			warm := warmed(t, cold, 1)
			spec := bash(introspect)
			spec.Params = map[string]any{"Name": "it's a \"value\"\nwith lines", "Big": strings.Repeat("b", sandbox.BashInlineMax+1), "N": int64(7)}
			spec.Env = map[string]string{"RB_ASSET_TOKEN": "token value", "ODD": "a'b\\c $HOME"}
			spec.PathDirs = []string{"/opt/helpers"}
			spec.JobID = runbooker.NewUUID()
			var got [2]string
			for i, in := range []sandbox.Interpreters{cold, warm} {
				res, s := runIn(t, in, spec)
				if res.Status != runbooker.StatusFailed || res.ExitCode != 3 {
					t.Fatalf("run %d: %+v, want Failed with exit 3", i, res)
				}
				got[i] = normalise(s)
			}
			if sandbox.WarmTaken(warm) != 1 {
				t.Fatalf("%d jobs ran in a warm bash, want 1", sandbox.WarmTaken(warm))
			}
			if got[0] != got[1] {
				dir := t.TempDir()
				_ = os.WriteFile(filepath.Join(dir, "cold"), []byte(got[0]), 0o644)
				_ = os.WriteFile(filepath.Join(dir, "warm"), []byte(got[1]), 0o644)
				diff, _ := exec.Command("diff", "-U3", filepath.Join(dir, "cold"), filepath.Join(dir, "warm")).CombinedOutput()
				t.Fatalf("a warm bash job sees a different start:\n%s", diff)
				t.Fatalf("a warm bash job sees a different start:\n%s", lineDiff(got[0], got[1]))
			}
			for _, want := range []string{"_=" + cold.Bash + " 0=runbook.sh n=6 flags=hBc", "fresh=1 big=32769",
				fmt.Sprintf("BASH_EXECUTION_STRING %d", len(introspect)),
				"line 11: not_a_command_here: command not found", "10 none none"} {
				if !strings.Contains(got[1], want) {
					t.Errorf("the warm job's output lacks %q:\n%s", want, got[1])
				}
			}
			for _, gone := range []string{"rb_go", "BASH_ENV", "/dev/fd/"} {
				if strings.Contains(got[1], gone) {
					t.Errorf("the warm job sees %q:\n%s", gone, got[1])
				}
			}
		})
	}
}

// normalise is a job's output, stream by stream, with its directory's
// path and its user id replaced: what two runs of the same job may tell
// apart.
func normalise(s *sink) string {
	var b strings.Builder
	var dir, uid string
	for _, typ := range []runbooker.StreamType{runbooker.StreamOutput, runbooker.StreamError, runbooker.StreamWarning} {
		for _, text := range s.texts(typ) {
			if v, ok := strings.CutPrefix(text, "pwd="); ok && dir == "" {
				f := strings.Fields(v)
				dir, uid = f[0], strings.TrimPrefix(f[1], "uid=")
			}
			fmt.Fprintf(&b, "%s %s\n", typ, text)
		}
	}
	out := b.String()
	if dir != "" {
		out = strings.ReplaceAll(out, dir, "$DIR")
	}
	if uid != "" && uid != "0" {
		out = strings.ReplaceAll(out, uid, "$UID")
	}
	return out
}

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("bash -c: %q\n   warm: %q", x, y))
		}
	}
	return strings.Join(out, "\n")
}

// A warm bash runs nothing of its job before Ready says yes (its first
// record comes after the answer); a refusal ends it, the runbook unrun, and
// leaves no process but the pool's waiting ones.
func TestAWarmBashRunsNothingBeforeReadyAndDiesWithARefusal(t *testing.T) {
	base := isolatedOrPlain(t)
	in := warmed(t, base, 1)
	for _, refuse := range []bool{false, true} {
		spec := bash(`echo ran`)
		spec.JobID = runbooker.NewUUID()
		var answered time.Time
		spec.Ready = func() error {
			time.Sleep(50 * time.Millisecond) // time enough for a runbook that was let go
			answered = time.Now()
			if refuse {
				return errors.New("not stored")
			}
			return nil
		}
		if !sandbox.WaitWarm(in, 1, 10*time.Second) {
			t.Fatal("no warm bash ready")
		}
		taken := sandbox.WarmTaken(in)
		res, s := runIn(t, in, spec)
		if refuse {
			if !res.Aborted || len(s.records()) != 0 || sandbox.WarmTaken(in) != taken {
				t.Fatalf("refused: result %+v, records %v, taken %d", res, s.records(), sandbox.WarmTaken(in)-taken)
			}
			if !sandbox.WaitWarm(in, 1, 10*time.Second) {
				t.Fatal("no warm bash ready after the refusal")
			}
			if left := processesUnder(workRoot(base)); len(left) != 1 {
				t.Fatalf("processes after the refusal: %v, want the one waiting warm bash", left)
			}
			continue
		}
		wantStatus(t, res, runbooker.StatusCompleted)
		recs := s.records()
		if len(recs) != 1 || recs[0].Text != "ran" || recs[0].Time.Before(answered) || sandbox.WarmTaken(in) != taken+1 {
			t.Fatalf("records %+v (Ready answered at %v), taken %d: want one, after the answer, from the warm bash",
				recs, answered, sandbox.WarmTaken(in)-taken)
		}
	}
}

// workRoot is where in makes job directories.
func workRoot(in sandbox.Interpreters) string {
	if dir := in.SupportDir(); dir != "" {
		return filepath.Dir(dir)
	}
	return in.TempRoot
}

// isolatedOrPlain is an isolated worker's interpreters as root (CI), the
// plain ones otherwise.
func isolatedOrPlain(t *testing.T) sandbox.Interpreters {
	if os.Geteuid() == 0 {
		return isolated(t, sandbox.IsolationConfig{})
	}
	in := needLanguage(t, runbooker.LangBash)
	in.TempRoot = t.TempDir()
	return in
}

// Limits are the job's, not the warm start's (which waits with the least
// CPU weight): a job's group gets its memory limit and CPU weight when it
// takes the warm bash.
func TestAWarmBashJobGetsItsOwnLimits(t *testing.T) {
	in := warmed(t, isolated(t, sandbox.IsolationConfig{}), 1)
	spec := bash(`if [ -d /sys/fs/cgroup/memory ]; then
  while IFS=: read -r _ ctrl path; do
    case $ctrl in memory) cat "/sys/fs/cgroup/memory$path/memory.limit_in_bytes";; cpu|cpu,cpuacct) cat "/sys/fs/cgroup/$ctrl$path/cpu.shares";; esac
  done < /proc/self/cgroup
else
  path=$(cut -d: -f3 /proc/self/cgroup); cat "/sys/fs/cgroup$path/memory.max" "/sys/fs/cgroup$path/cpu.weight"
fi`)
	spec.Limits = sandbox.Limits{MemoryBytes: 300 << 20, CPUWeight: 50}
	res, s := runIn(t, in, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	if sandbox.WarmTaken(in) != 1 {
		t.Fatal("the job did not run in the warm bash")
	}
	out := s.texts(runbooker.StreamOutput)
	mem := fmt.Sprint(300 << 20)
	if len(out) != 2 || out[0] != mem || out[1] != "512" && out[1] != "50" {
		t.Fatalf("the job's group has %q, want memory %s and CPU weight 50 (v1: 512 shares)", out, mem)
	}
}

// Close ends the warm processes no job took, and their directories go.
func TestClosingStopsWarmBashProcesses(t *testing.T) {
	base := isolatedOrPlain(t)
	in := base
	in.KeepWarm(2)
	if !sandbox.WaitWarm(in, 2, 10*time.Second) {
		t.Fatal("no warm bash ready")
	}
	root := workRoot(base)
	before := processesUnder(root)
	if len(before) < 2 {
		t.Fatalf("%d processes in %s, want the 2 warm ones", len(before), root)
	}
	sandbox.StopWarm(in)
	if left := processesUnder(root); len(left) != 0 {
		t.Fatalf("processes left after closing: %v", left)
	}
	entries, _ := filepath.Glob(filepath.Join(root, "*job-*"))
	if len(entries) != 0 {
		t.Fatalf("directories left after closing: %v", entries)
	}
}

// processesUnder lists the processes whose working directory is below dir.
func processesUnder(dir string) []string {
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/cwd")
	for _, f := range files {
		if d, err := os.Readlink(f); err == nil && strings.HasPrefix(d, dir+"/") {
			out = append(out, filepath.Base(filepath.Dir(f))+":"+d)
		}
	}
	return out
}

// A job a warm bash cannot take (a script too big for bash -c, a RunAs
// identity) starts the ordinary way and leaves the warm one waiting; a
// stop and a timeout end a warm job as any other.
func TestJobsAWarmBashDoesNotTakeAndStops(t *testing.T) {
	in := warmed(t, isolatedOrPlain(t), 1)
	big := bash("# " + strings.Repeat("padding ", 10<<10) + "\necho \"$0 big\"\n")
	res, s := runIn(t, in, big)
	wantStatus(t, res, runbooker.StatusCompleted)
	if out := s.texts(runbooker.StreamOutput); len(out) != 1 || out[0] != "runbook.sh big" || sandbox.WarmTaken(in) != 0 {
		t.Fatalf("output %q, taken %d: want the script file run the ordinary way", out, sandbox.WarmTaken(in))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res = in.Run(ctx, bash(`trap '' TERM; sleep 30`), nil)
	if res.Status != runbooker.StatusStopped || time.Since(start) > 10*time.Second || sandbox.WarmTaken(in) != 1 {
		t.Fatalf("stopped warm job: %+v after %v, taken %d", res, time.Since(start), sandbox.WarmTaken(in))
	}
	spec := bash(`sleep 30`)
	spec.Timeout = 200 * time.Millisecond
	if !sandbox.WaitWarm(in, 1, 10*time.Second) {
		t.Fatal("no warm bash ready")
	}
	res, _ = runIn(t, in, spec)
	if res.Status != runbooker.StatusFailed || !strings.Contains(res.Exception, "runtime limit") || sandbox.WarmTaken(in) != 2 {
		t.Fatalf("timed-out warm job: %+v, taken %d", res, sandbox.WarmTaken(in))
	}
}
