package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/bashparse"
)

// A warm bash is a Bash interpreter started before its job exists: forked
// into a job's isolation (its own user id, PID namespace, jail and cgroup,
// a job directory of its own), exec'd, through its start-up (loading,
// locale, environment), and waiting on a pipe. A Bash job that comes along
// takes one instead of starting bash: the pipe brings it the job (its
// environment, arguments, directory name and script), and the runbook runs
// at once. Bash's start-up is most of a trivial job's run (on one machine
// 1.6 of the 2.1 ms a bare `bash -c` took, start to end), and it leaves
// the job's path; the pool starts the next one while the job runs.
//
// Nothing of a job has been near a warm bash before it takes it, and it
// serves that one job only: it is one process, of one job, like any other.
// It fails closed: a pipe closed without the whole job (the worker stopped
// or died, or a refusal) ends bash with status 125, nothing run.
//
// The runbook runs as `eval "$BASH_EXECUTION_STRING"`, the variable bash
// -c sets to the command string: $0, "$@", LINENO, error messages, the
// environment and the directory are what `bash -c` gives (the sandbox's
// tests run both ways and compare), except that a syntax error is reported
// as "runbook.sh: eval: line N" instead of "runbook.sh: -c: line N".
type warmBash struct {
	lease   *jobLease
	dir     string
	cmd     *exec.Cmd
	grp     *procGroup
	out     *os.File // read end of stdout
	errOut  *os.File // read end of stderr
	payload *os.File // write end of the pipe the job comes through
}

// warmStub is a warm bash's command string: the runbook, once the job has
// put it in BASH_EXECUTION_STRING.
const warmStub = `eval "$BASH_EXECUTION_STRING"`

// warmLines are a warm bash's BASH_ENV: %[1]d is its own descriptor, %[2]d
// the job's pipe. Sourcing the pipe blocks until the job comes and the
// worker closes it; the job's last line sets rb_go, so a job cut short
// (the worker died while writing it) runs nothing. A BASH_ENV the job
// brings (the parameter prelude, see bashParams) is sourced last, as bash
// would have.
const warmLines = `. /dev/fd/%[2]d; exec %[1]d<&- %[2]d<&-; [ "${rb_go-}" = 1 ] || exit 125; unset rb_go; ` +
	`if [ "$BASH_ENV" = /dev/fd/%[1]d ]; then unset BASH_ENV; else . "$BASH_ENV"; fi; : "$BASH"` + "\n"

// warmCPUWeight is a warm bash's CPU weight until its job comes (see
// Limits): its start-up takes the CPU jobs leave, not theirs. Its job gets
// the weight it should have.
const warmCPUWeight = 1

// warmPool keeps up to size warm bash processes for a worker's Bash jobs.
type warmPool struct {
	in   Interpreters // as Isolate left them
	size int

	mu      sync.Mutex
	idle    []*warmBash
	filling bool
	closed  bool
	fills   sync.WaitGroup
	taken   atomic.Int64 // jobs that ran in a warm bash
}

// KeepWarm has the worker keep up to n Bash interpreters started ahead of
// their jobs (see warmBash; 0, or a machine where the gated start is not
// possible, keeps none). Call it after Isolate, once; Close stops them.
func (in *Interpreters) KeepWarm(n int) {
	if n <= 0 || in.Bash == "" || !gatesBash(in.Bash) {
		in.warm = nil
		return
	}
	p := &warmPool{in: *in, size: n}
	p.mu.Lock()
	p.refillLocked()
	p.mu.Unlock()
	in.warm = p
}

// take hands out a warm bash for spec when the job can run in one (a Bash
// script bash -c takes, no RunAs identity) and one is ready, and starts
// refilling the pool.
func (p *warmPool) take(spec Spec) *warmBash {
	if p == nil || spec.Language != runbooker.LangBash || spec.RunAs != nil || !inlineBash(spec.Script) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var w *warmBash
	if len(p.idle) > 0 {
		w, p.idle = p.idle[0], p.idle[1:]
	}
	p.refillLocked()
	return w
}

// refillLocked starts filling the pool unless it is being filled.
func (p *warmPool) refillLocked() {
	if !p.filling && !p.closed {
		p.filling = true
		p.fills.Add(1)
		go p.fill()
	}
}

// fill starts warm processes until the pool is full. A failure stops it;
// the next job tries again.
func (p *warmPool) fill() {
	defer p.fills.Done()
	for {
		p.mu.Lock()
		if p.closed || len(p.idle) >= p.size {
			p.filling = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		w, err := p.in.startWarm()
		p.mu.Lock()
		if err != nil || p.closed {
			p.filling = false
			p.mu.Unlock()
			if w != nil {
				w.discard()
			}
			return
		}
		p.idle = append(p.idle, w)
		p.mu.Unlock()
	}
}

// close ends the idle warm processes and waits for a fill under way.
func (p *warmPool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, w := range idle {
		w.discard()
	}
	p.fills.Wait()
}

// startWarm starts one warm bash, in isolation as a job without its own
// limits or identity would get it.
func (in Interpreters) startWarm() (*warmBash, error) {
	lease, err := in.iso.lease(Spec{Limits: Limits{CPUWeight: warmCPUWeight}})
	if err != nil {
		return nil, err
	}
	w := &warmBash{lease: lease}
	if err := w.start(in); err != nil {
		w.discard()
		return nil, err
	}
	return w, nil
}

func (w *warmBash) start(in Interpreters) error {
	var err error
	if w.dir, err = in.jobDir(Spec{}); err != nil {
		return err
	}
	cred := w.lease.credential(nil)
	if err := handOver(w.dir, nil, cred); err != nil {
		return err
	}
	cmd := exec.Command(in.Bash, "-c", warmStub, scriptBase+runbooker.LangBash.Ext())
	cmd.Dir = w.dir
	cmd.Env = append(environment(w.dir, in.pathPrefix, in.shell(), nil, Spec{}), "BASH_ENV=/dev/fd/3")
	if w.grp, err = newProcGroup(cmd, cred); err != nil {
		return err
	}
	w.lease.apply(cmd.SysProcAttr)
	var outW, errW, src, srcW, jobR *os.File
	defer func() {
		for _, f := range []*os.File{outW, errW, src, srcW, jobR} {
			if f != nil {
				f.Close()
			}
		}
	}()
	if w.out, outW, err = newPipe(); err != nil {
		return err
	}
	if w.errOut, errW, err = newPipe(); err != nil {
		return err
	}
	if src, srcW, err = os.Pipe(); err != nil {
		return err
	}
	if jobR, w.payload, err = os.Pipe(); err != nil {
		return err
	}
	// bash opens /dev/fd/N anew, as the job's user: the pipes must let it.
	if err := src.Chmod(0o444); err != nil {
		return err
	}
	if err := jobR.Chmod(0o444); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(srcW, warmLines, 3, 4); err != nil { // far below a pipe's buffer
		return err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{src, jobR}
	if err := w.lease.start(cmd.SysProcAttr, cmd.Start); err != nil {
		return err
	}
	w.cmd = cmd
	return w.grp.started(cmd.Process)
}

// discard ends an unused warm bash and gives back what it held.
func (w *warmBash) discard() {
	if w.payload != nil {
		w.payload.Close()
	}
	if w.cmd != nil && w.cmd.Process != nil {
		_ = w.cmd.Process.Kill()
		_ = w.cmd.Wait()
	}
	w.closeOutput()
	w.lease.release()
	if w.dir != "" {
		removeJobDir(w.dir)
	}
}

func (w *warmBash) closeOutput() {
	for _, f := range []*os.File{w.out, w.errOut} {
		if f != nil {
			f.Close()
		}
	}
}

// runWarm runs spec's job in w. It reports ran=false when the job cannot
// run there and nothing of it ran: the caller starts it the ordinary way.
// Once it has asked spec.Ready, it clears it.
func (in Interpreters) runWarm(ctx context.Context, spec *Spec, emit Emitter, w *warmBash) (res Result, ran bool) {
	used := false
	defer func() {
		if !used {
			w.discard()
		}
	}()
	if named := jobDirName(w.dir, spec.JobID); os.Rename(w.dir, named) == nil {
		w.dir = named
	}
	p, err := in.planFor(*spec, w.dir)
	if err != nil {
		return failed(*spec, "%v", err), true
	}
	if p.path != in.Bash || len(p.args) < 3 || p.args[0] != "-c" || p.host != "" {
		return Result{}, false
	}
	text, ok := warmJob(w.cmd.Env, environment(w.dir, in.pathPrefix, in.shell(), p.env, *spec), w.dir, p.args[1], p.args[3:])
	if !ok {
		return Result{}, false
	}
	if l := spec.Limits.withDefaults(in.iso.defaults()); !w.lease.setLimits(l) {
		return Result{}, false
	}
	names := make([]string, 0, len(p.files))
	for name, content := range p.files {
		if err := os.WriteFile(filepath.Join(w.dir, name), content, 0o600); err != nil {
			return failed(*spec, "cannot write the runbook: %v", err), true
		}
		names = append(names, name)
	}
	if err := handOver(w.dir, names, w.lease.credential(nil)); err != nil {
		return failed(*spec, "cannot hand the job directory to the job's user: %v", err), true
	}
	if spec.Ready != nil {
		err := spec.Ready()
		spec.Ready = nil
		if err != nil {
			return Result{Status: runbooker.StatusFailed, Exception: err.Error(), ExitCode: -1, NextSeq: spec.FirstSeq, Aborted: true}, true
		}
	}
	_, err = w.payload.Write(text) // bash reads it meanwhile: it may pass a pipe's buffer
	if cerr := w.payload.Close(); err == nil {
		err = cerr
	}
	w.payload = nil
	if err != nil { // bash is gone: it read nothing whole, so it ran nothing
		return Result{}, false
	}
	used = true
	in.warm.taken.Add(1)
	defer w.lease.release()
	defer removeJobDir(w.dir)
	defer w.closeOutput()
	return in.supervise(ctx, &job{spec: *spec, cmd: w.cmd, grp: w.grp, lease: w.lease, out: w.out, err: w.errOut,
		col: newCollector(*spec, emit)}, ""), true
}

// jobDirName is the name a warm bash's directory takes for job id: the
// job's id where the directory's name has the empty one.
func jobDirName(dir, id string) string {
	base := filepath.Base(dir)
	i := strings.LastIndexByte(base, '-')
	if i < 1 || !strings.HasSuffix(base[:i], "-") || dirSafe(id) == "" {
		return dir
	}
	return filepath.Join(filepath.Dir(dir), base[:i]+dirSafe(id)+base[i:])
}

// bashStartVars are variables bash acts on when it finds them in its
// environment at start-up: set later they would not do the same, so a job
// given one starts the ordinary way.
var bashStartVars = []string{"SHELLOPTS", "BASHOPTS", "POSIXLY_CORRECT", "ENV", "BASH_XTRACEFD", "PS4",
	"IFS", "UID", "EUID", "PPID", "BASHPID", "GROUPS", "BASH_COMPAT", "TERM", "LINES", "COLUMNS"}

// warmJob is the text a warm bash sources to become the job: every
// variable of the job's environment exported with its value, those of the
// warm start's environment the job has not unset, its directory's new name
// (with OLDPWD as a fresh bash has it: exported, no value), its arguments,
// and its script in BASH_EXECUTION_STRING; rb_go last. ok is false when a
// variable cannot be set that way.
func warmJob(started, env []string, dir, script string, args []string) (text []byte, ok bool) {
	var b strings.Builder
	seen := map[string]bool{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !shellName(k) || slices.Contains(bashStartVars, k) {
			return nil, false
		}
		seen[k] = true
		b.WriteString("export " + k + "=" + bashparse.Quote(v) + "\n")
	}
	for _, kv := range started {
		if k, _, _ := strings.Cut(kv, "="); !seen[k] && k != "BASH_ENV" {
			b.WriteString("unset " + k + "\n")
		}
	}
	b.WriteString("cd -- " + bashparse.Quote(dir) + " || exit 125\nunset OLDPWD; declare -x OLDPWD\nset --")
	for _, a := range args {
		b.WriteString(" " + bashparse.Quote(a))
	}
	b.WriteString("\nBASH_EXECUTION_STRING=" + bashparse.Quote(script) + "\nSECONDS=0\nrb_go=1\n")
	return []byte(b.String()), true
}

// shellName reports whether k is a name bash can export.
func shellName(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
