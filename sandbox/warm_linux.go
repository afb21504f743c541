package sandbox

import (
	"context"
	"os"
	"os/exec"
	"runtime"
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
// environment, arguments and script), and the runbook runs at once. Bash's start-up is most of a trivial job's run (on one machine
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
// as "runbook.sh: eval: line N" instead of "runbook.sh: -c: line N", and
// BASH_ARGV and BASH_ARGC, which bash fills at start only, are empty
// outside functions.
type warmBash struct {
	lease   *jobLease
	dir     string
	cmd     *exec.Cmd
	grp     *procGroup
	out     *os.File // read end of stdout
	errOut  *os.File // read end of stderr
	payload *os.File // write end of the pipe the job comes through
}

// warmStub is a warm bash's command string. Sourcing descriptor 3, the
// job's pipe, blocks until the job comes and the worker closes the pipe;
// the job's last line sets rb_go, so a job cut short (the worker died
// while writing it) runs nothing. A BASH_ENV the job brings (the parameter
// prelude, see bashParams) is sourced next, as bash would have at start;
// ": "$BASH"" leaves $_ as bash sets it; then the runbook, which the job
// put in BASH_EXECUTION_STRING.
const warmStub = `. /dev/fd/3 && [ "${rb_go-}" = 1 ] || exit 125; exec 3<&-; unset rb_go; ` +
	`if [ -n "${BASH_ENV-}" ]; then . "$BASH_ENV"; fi; : "$BASH"; eval "$BASH_EXECUTION_STRING"`

// warmCPUWeight is a warm bash's CPU weight until its job comes (see
// Limits): its start-up takes the CPU jobs leave, not theirs. Its job gets
// the weight it should have.
const warmCPUWeight = 1

// warmPool keeps up to size warm bash processes for a worker's Bash jobs.
type warmPool struct {
	in   Interpreters // as Isolate left them
	size int
	// paths are the PathDirs of the last job that took a warm bash: the
	// next ones start with them on PATH (the worker's helpers, the same for
	// all its jobs), so that the job need not set PATH anew.
	paths atomic.Pointer[[]string]
	// running counts the worker's jobs in Run (any language). A warm start
	// costs as much CPU as a cold one, and a little more for the job
	// (sourcing it, a cgroup write): it pays while the machine has CPU to
	// spare, and takes it from the jobs when it has not. So the pool fills
	// while fewer jobs run than half the machine's cores (idleBelow, at
	// least one), and jobs that find it empty start the ordinary way. With
	// one job per core, as first here, a two-core worker refilled beside
	// the very job that took the warm bash, and under load a sixth of its
	// jobs ran warm (see warmIdleBelow).
	running   atomic.Int32
	idleBelow int32

	mu      sync.Mutex
	idle    []*warmBash
	filling bool
	closed  bool
	fills   sync.WaitGroup
	taken   atomic.Int64 // jobs that ran in a warm bash
}

// KeepWarm has the worker keep up to n Bash interpreters started ahead of
// their jobs (see warmBash; 0, or a machine whose bash cannot source from
// /dev/fd, which the gated start probes, keeps none). Call it after
// Isolate, once; Close stops them.
func (in *Interpreters) KeepWarm(n int) {
	if n <= 0 || in.Bash == "" || !gatesBash(in.Bash) {
		in.warm = nil
		return
	}
	p := &warmPool{in: *in, size: n, idleBelow: warmIdleBelow(runtime.NumCPU())}
	p.mu.Lock()
	p.refillLocked()
	p.mu.Unlock()
	in.warm = p
}

// warmIdleBelow is how few jobs must run on a machine of ncpu cores for
// the warm pool to fill: half the cores, at least one. Measured on two
// cores (`runbooker bench --only sync,throughput`, alternated runs), half
// the cores against one per core: a synchronous run 0.87–0.95 × a bare
// bash start against 1.14–1.20 on SQLite and 1.35–1.44 against 1.61–1.71 on
// PostgreSQL (the next warm bash no longer starts beside the run), and
// throughput 0.68–0.71 of raw spawn against 0.66–0.69, the jobs'
// processes taking the raw spawn's CPU (1.12–1.15 ms against 1.15–1.21).
func warmIdleBelow(ncpu int) int32 { return int32(max(1, ncpu/2)) }

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

// begin counts a job in Run; end uncounts it and refills the pool when the
// machine has a core to spare again.
func (p *warmPool) begin() {
	if p != nil {
		p.running.Add(1)
	}
}

func (p *warmPool) end() {
	if p == nil {
		return
	}
	p.running.Add(-1)
	p.mu.Lock()
	p.refillLocked()
	p.mu.Unlock()
}

// spare reports whether the worker's jobs leave a core idle.
func (p *warmPool) spare() bool { return p.running.Load() < p.idleBelow }

// refillLocked starts filling the pool unless it is full, being filled,
// or the jobs keep every core busy.
func (p *warmPool) refillLocked() {
	if !p.filling && !p.closed && len(p.idle) < p.size && p.spare() {
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
		if p.closed || len(p.idle) >= p.size || !p.spare() {
			p.filling = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		var dirs []string
		if d := p.paths.Load(); d != nil {
			dirs = *d
		}
		w, err := p.in.startWarm(dirs)
		p.mu.Lock()
		if err != nil || p.closed {
			p.filling = false
			p.mu.Unlock()
			if w != nil {
				w.discard(p.in)
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
		w.discard(p.in)
	}
	p.fills.Wait()
}

// startWarm starts one warm bash, in isolation as a job without its own
// limits or identity would get it.
func (in Interpreters) startWarm(pathDirs []string) (*warmBash, error) {
	lease, err := in.iso.lease(Spec{Limits: Limits{CPUWeight: warmCPUWeight}})
	if err != nil {
		return nil, err
	}
	w := &warmBash{lease: lease}
	if err := w.start(in, pathDirs); err != nil {
		w.discard(in)
		return nil, err
	}
	return w, nil
}

func (w *warmBash) start(in Interpreters, pathDirs []string) error {
	var err error
	if w.dir, err = in.jobDir(Spec{JobID: "warm"}); err != nil {
		return err
	}
	cred := w.lease.credential(nil)
	if err := handOver(w.dir, nil, cred); err != nil {
		return err
	}
	cmd := exec.Command(in.Bash, "-c", warmStub, scriptBase+runbooker.LangBash.Ext())
	setStdin(cmd)
	cmd.Dir = w.dir
	cmd.Env = environment(w.dir, in.pathPrefix, in.shell(), nil, Spec{PathDirs: pathDirs})
	if w.grp, err = newProcGroup(cmd, cred); err != nil {
		return err
	}
	w.lease.apply(cmd.SysProcAttr)
	var outW, errW, jobR *os.File
	defer func() {
		for _, f := range []*os.File{outW, errW, jobR} {
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
	if jobR, w.payload, err = os.Pipe(); err != nil {
		return err
	}
	// bash opens /dev/fd/3 anew, as the job's user: the pipe must let it.
	if err := jobR.Chmod(0o444); err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{jobR}
	if err := w.lease.start(cmd.SysProcAttr, cmd.Start); err != nil {
		return err
	}
	w.cmd = cmd
	return w.grp.started(cmd.Process)
}

// discard ends an unused warm bash and gives back what it held (a job
// directory that will not go is left to in's sweeper, as a job's is).
func (w *warmBash) discard(in Interpreters) {
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
		in.removeJobDir(w.dir)
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
			w.discard(in)
		}
	}()
	dirs := slices.Clone(spec.PathDirs)
	in.warm.paths.Store(&dirs)
	p, err := in.planFor(*spec, w.dir)
	if err != nil {
		return failed(*spec, "%v", err), true
	}
	if p.path != in.Bash || len(p.args) < 3 || p.args[0] != "-c" || p.host != "" {
		return Result{}, false
	}
	text, ok := warmJob(w.cmd.Env, environment(w.dir, in.pathPrefix, in.shell(), p.env, *spec), p.args[1], p.args[3:])
	if !ok {
		return Result{}, false
	}
	if !w.lease.setLimits(in.iso.limitsFor(spec.Limits)) {
		return Result{}, false
	}
	if err := p.place(w.dir, w.lease.credential(nil)); err != nil {
		return failed(*spec, "%v", err), true
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
	defer in.removeJobDir(w.dir)
	defer w.closeOutput()
	return in.supervise(ctx, &job{spec: *spec, cmd: w.cmd, grp: w.grp, lease: w.lease, out: w.out, err: w.errOut,
		col: newCollector(*spec, emit)}, ""), true
}

// bashStartVars are variables bash acts on when it finds them in its
// environment at start-up: set later they would not do the same, so a job
// given one starts the ordinary way.
var bashStartVars = []string{"SHELLOPTS", "BASHOPTS", "POSIXLY_CORRECT", "ENV", "BASH_XTRACEFD", "PS4",
	"IFS", "UID", "EUID", "PPID", "BASHPID", "GROUPS", "BASH_COMPAT", "TERM", "LINES", "COLUMNS"}

// warmJob is the text a warm bash sources to become the job: the variables
// of the job's environment the warm start's lacks or has with another
// value, exported; those of the warm start's the job's lacks, unset; its
// arguments; and its script in BASH_EXECUTION_STRING; rb_go last. ok is
// false when a variable cannot be set that way.
func warmJob(started, env []string, script string, args []string) (text []byte, ok bool) {
	var b strings.Builder
	had := make(map[string]string, len(started))
	for _, kv := range started {
		k, v, _ := strings.Cut(kv, "=")
		had[k] = v
	}
	job := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !runbooker.Identifier(k) || slices.Contains(bashStartVars, k) {
			return nil, false
		}
		job[k] = v // the last value of a name wins, as in exec
	}
	written := make(map[string]bool, len(job))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if written[k] {
			continue
		}
		written[k] = true
		if old, ok := had[k]; !ok || old != job[k] {
			b.WriteString("export " + k + "=" + bashparse.Quote(job[k]) + "\n")
		}
	}
	for _, kv := range started {
		if k, _, _ := strings.Cut(kv, "="); !written[k] {
			b.WriteString("unset " + k + "\n")
		}
	}
	b.WriteString("set --")
	for _, a := range args {
		b.WriteString(" " + bashparse.Quote(a))
	}
	b.WriteString("\nBASH_EXECUTION_STRING=" + bashparse.Quote(script) + "\nSECONDS=0\nrb_go=1\n")
	return []byte(b.String()), true
}
