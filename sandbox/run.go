package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runbooker/runbooker"
)

// Run runs one attempt of a job to its end and reports how it ended. It
// blocks until the runbook's process tree is gone and every record has been
// passed to emit. Cancelling ctx stops the job: its process tree is killed
// and the status is Stopped.
func (in Interpreters) Run(ctx context.Context, spec Spec, emit Emitter) Result {
	if emit == nil {
		emit = func([]runbooker.StreamRecord) {}
	}
	if ctx.Err() != nil {
		return Result{Status: runbooker.StatusStopped, ExitCode: -1, NextSeq: spec.FirstSeq}
	}
	in.warm.begin()
	defer in.warm.end()
	if w := in.warm.take(spec); w != nil {
		// When the warm process cannot take the job, nothing of it ran:
		// it starts the ordinary way (runWarm clears Ready once it said yes).
		if res, ran := in.runWarm(ctx, &spec, emit, w); ran {
			return res
		}
	}
	lease, err := in.iso.lease(spec)
	if err != nil {
		return failed(spec, "%v", err)
	}
	defer lease.release()
	dir, err := in.jobDir(spec)
	if err != nil {
		return failed(spec, "cannot create the job directory: %v", err)
	}
	defer in.removeJobDir(dir)
	p, err := in.planFor(spec, dir)
	if err != nil {
		return failed(spec, "%v", err)
	}
	cred := lease.credential(spec.RunAs)
	if err := p.place(dir, cred); err != nil {
		return failed(spec, "%v", err)
	}

	cmd := exec.Command(p.path, p.args...)
	setStdin(cmd)
	cmd.Dir = dir
	cmd.Env = environment(dir, in.pathPrefix, in.shell(), p.env, spec)
	grp, err := newProcGroup(cmd, cred)
	if err != nil {
		return failed(spec, "%v", err)
	}
	if p.quoteAll {
		setCommandLine(cmd, msysCommandLine(append([]string{p.path}, p.args...)))
	}
	defer grp.close()
	lease.apply(cmd.SysProcAttr)
	outR, outW, err := newPipe()
	if err != nil {
		return failed(spec, "cannot create a pipe: %v", err)
	}
	defer outR.Close()
	errR, errW, err := newPipe()
	if err != nil {
		outW.Close()
		return failed(spec, "cannot create a pipe: %v", err)
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW
	var held *heldStart
	var gate *bashGate
	if spec.Ready != nil {
		// Start the process at once while Ready waits, and let the runbook
		// run once Ready says yes: a Bash job waits at a gate after its
		// interpreter's start-up (see bashGate), any other held at its exec
		// (see heldStart). A held start that fails leaves nothing
		// running, and the job starts the ordinary way after Ready, from a
		// fresh command (an exec.Cmd starts once).
		if gate, err = startGated(spec, lease, cmd); err != nil {
			outW.Close()
			errW.Close()
			return failed(spec, "cannot start %s: %v", filepath.Base(p.path), err)
		}
		if gate == nil {
			if held = startHeld(lease, cmd); held == nil {
				cmd = restartable(cmd)
			}
		}
		if err := spec.Ready(); err != nil {
			outW.Close()
			errW.Close()
			if gate != nil {
				gate.kill(cmd)
			}
			if held != nil {
				held.kill(cmd)
			}
			return Result{Status: runbooker.StatusFailed, Exception: err.Error(), ExitCode: -1, NextSeq: spec.FirstSeq, Aborted: true}
		}
		if gate != nil {
			gate.open()
		}
		if held != nil && held.let() != nil {
			held.kill(cmd)
			cmd, held = restartable(cmd), nil
		}
	}
	if held == nil && gate == nil {
		err = lease.start(cmd.SysProcAttr, cmd.Start)
	}
	outW.Close() // the child has its own copies now
	errW.Close()
	if err != nil {
		return failed(spec, "cannot start %s: %v", filepath.Base(p.path), err)
	}
	if err := grp.started(cmd.Process); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return failed(spec, "cannot contain the runbook process: %v", err)
	}
	return in.supervise(ctx, &job{spec: spec, cmd: cmd, grp: grp, lease: lease, out: outR, err: errR, col: newCollector(spec, emit)}, p.host)
}

// supervise follows a started job to its end: the watchdog (where no PID
// namespace ends its processes), OnStart, output, limits and the result.
func (in Interpreters) supervise(ctx context.Context, j *job, host string) Result {
	j.guard = in.guard
	if j.lease.ownNamespace() {
		j.guard = nil // the namespace dies with its first process, which Pdeathsig kills
	}
	j.guard.add(j.cmd.Process.Pid)
	if j.spec.OnStart != nil {
		j.spec.OnStart(j.cmd.Process.Pid)
	}
	if host != "" {
		j.col.host.name = filepath.Base(host)
	}
	return j.supervise(ctx)
}

// place writes the plan's files into the job directory dir and hands it,
// with them, to the job's user.
func (p plan) place(dir string, cred *Credential) error {
	names := make([]string, 0, len(p.files))
	for name, content := range p.files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			return fmt.Errorf("cannot write the runbook: %w", err)
		}
		names = append(names, name)
	}
	if err := handOver(dir, names, cred); err != nil {
		return fmt.Errorf("cannot hand the job directory to the job's user: %w", err)
	}
	return nil
}

// job is one started process and what Run knows about it.
type job struct {
	spec     Spec
	cmd      *exec.Cmd
	grp      *procGroup
	guard    *watchdog
	lease    *jobLease
	out, err *os.File // read ends of stdout and stderr
	col      *collector

	mu     sync.Mutex
	reaped bool // the main process was reaped: its group id may be reused
}

type endReason int

const (
	ranToEnd endReason = iota
	stoppedByCaller
	timedOut
)

// supervise reads the output, enforces the timeout, stops the job when ctx
// ends and waits for everything to finish.
func (j *job) supervise(ctx context.Context) Result {
	msgs := make(chan chunk, 8)
	quit := make(chan struct{}) // closed when Run no longer listens
	defer close(quit)
	send := func(c chunk) bool {
		select {
		case msgs <- c:
			return true
		case <-quit:
			return false
		}
	}
	g := newGate(unreadBytes(j.out))
	stdout, stderr := newLineReader(false), newLineReader(true)
	stdout.gate = g
	go func() {
		stdout.run(j.out, send)
		send(chunk{done: true})
	}()
	go func() {
		stderr.run(j.err, func(c chunk) bool {
			if len(c.recs) > 0 {
				g.wait()
			}
			return send(c)
		})
		send(chunk{done: true})
	}()
	exited := make(chan struct{})
	go j.wait(exited)

	var reason endReason
	var timeoutC, graceC, drainC <-chan time.Time
	open, exitedC := 2, (<-chan struct{})(exited)
	if j.spec.Timeout > 0 {
		t := time.NewTimer(j.spec.Timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	flushT := time.NewTimer(BatchDelay)
	flushT.Stop()
	defer flushT.Stop()
	armed := false
	stop := func(why endReason) {
		if exitedC == nil { // too late: the job ended on its own
			return
		}
		if reason == ranToEnd {
			reason = why
		}
		j.signal(false)
		grace := KillGrace
		if j.lease.ownNamespace() && !catchesSignal(j.cmd.Process.Pid, syscall.SIGTERM) {
			// The runbook leads its PID namespace, where a signal without a
			// handler is ignored: its children got SIGTERM, it gets SIGKILL
			// after a short grace for them.
			grace = initGrace
		}
		t := time.NewTimer(grace)
		graceC = t.C
	}
	ctxDone := ctx.Done()
	for open > 0 || exitedC != nil {
		select {
		case c := <-msgs:
			if c.done {
				open--
			} else if j.col.add(c) && !armed {
				flushT.Reset(BatchDelay)
				armed = true
			}
		case <-flushT.C:
			armed = false
			j.col.flush()
		case <-ctxDone:
			ctxDone = nil
			stop(stoppedByCaller)
		case <-timeoutC:
			timeoutC = nil
			stop(timedOut)
		case <-graceC:
			graceC = nil
			j.signal(true)
		case <-exitedC:
			exitedC = nil
			t := time.NewTimer(DrainDelay)
			defer t.Stop()
			drainC = t.C
		case <-drainC:
			// A blocking read cannot be interrupted: the readers are left
			// behind and end when the pipes do (quit tells them to stop).
			drainC, open = nil, 0
			j.col.note(runbooker.StreamWarning, "Output written after the runbook ended was not collected: "+
				"a process that left the job's process group kept its output open.")
		}
	}
	j.col.finish()
	return j.result(reason)
}

// wait waits for the main process to end, then kills what is left of its
// group: a job owns nothing once its main process is gone, and a leftover
// background process would hold the output pipes open.
func (j *job) wait(exited chan<- struct{}) {
	peeked := peekExit(j.cmd.Process.Pid)
	if peeked {
		j.sweep()
	}
	_ = j.cmd.Wait()
	if !peeked {
		j.sweep()
	}
	j.guard.remove(j.cmd.Process.Pid)
	close(exited)
}

func (j *job) sweep() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.reaped {
		j.grp.kill()
		j.reaped = true
	}
}

// signal asks (hard: forces) the process tree to end, unless it is gone.
func (j *job) signal(hard bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.reaped:
	case hard:
		j.grp.kill()
	default:
		j.grp.terminate()
	}
}

func (j *job) result(reason endReason) Result {
	state := j.cmd.ProcessState
	res := Result{ExitCode: state.ExitCode(), Dropped: j.col.dropped, NextSeq: j.col.next}
	switch {
	case reason == stoppedByCaller:
		res.Status = runbooker.StatusStopped
	case reason == timedOut:
		res.Status = runbooker.StatusFailed
		res.Exception = fmt.Sprintf("The job exceeded its runtime limit of %s and was stopped.", j.spec.Timeout)
	case j.col.helperFailed != "":
		res.Status = runbooker.StatusFailed
		res.Exception = "A helper the runbook called could not be started, so it could not reach its assets: " +
			oneLine(j.col.helperFailed)
	case j.lease.oomKilled():
		res.Status = runbooker.StatusFailed
		res.Exception = fmt.Sprintf("The job exceeded its memory limit of %s: the kernel killed it (out of memory).",
			formatBytes(j.lease.memoryLimit()))
	case state.Success():
		res.Status = runbooker.StatusCompleted
	default:
		res.Status = runbooker.StatusFailed
		res.Exception = j.col.failure(state.String())
	}
	return res
}

// shell is the SHELL of a job: the worker's bash, except on Windows.
func (in Interpreters) shell() string {
	if runtime.GOOS == "windows" {
		return ""
	}
	return in.Bash
}

// initGrace is how long the processes of a job whose first process leads
// its PID namespace (and ignores SIGTERM) have to end before SIGKILL.
const initGrace = 200 * time.Millisecond

// jobDir makes the job's directory: in the worker's work directory once
// Isolate ran, else in TempRoot named after the worker's pid so that
// SweepJobDirs can tell a crashed worker's leftovers.
func (in Interpreters) jobDir(spec Spec) (string, error) {
	if in.work != "" {
		return os.MkdirTemp(in.work, "job-"+dirSafe(spec.JobID)+"-")
	}
	return os.MkdirTemp(in.TempRoot, jobDirPrefix+strconv.Itoa(os.Getpid())+"-"+dirSafe(spec.JobID)+"-")
}

func failed(spec Spec, format string, args ...any) Result {
	return Result{Status: runbooker.StatusFailed, Exception: fmt.Sprintf(format, args...),
		ExitCode: -1, NextSeq: spec.FirstSeq}
}

// dirSafe keeps the characters of a job id that are safe in a file name.
func dirSafe(id string) string {
	id = strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, id)
	return id[:min(len(id), 36)]
}

// removeJobDir removes a job directory even where the runbook took away
// permissions, retrying with backoff where files stay open for a moment
// after their processes ended (Windows: removeDelays). It reports whether
// the directory is gone.
func removeJobDir(dir string) bool {
	return removeWithRetry(dir, removeDelays, removeOnce) == nil
}

// removeOnce is one attempt at removing dir, making its folders writable
// when the first try fails. Last it removes entry by entry, deepest first,
// with the plain delete calls: os.RemoveAll's handle-relative deletes on
// Windows need FileDispositionInformationEx, which some file systems (and
// Wine) lack.
func removeOnce(dir string) error {
	if os.RemoveAll(dir) == nil {
		return nil
	}
	var paths []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		paths = append(paths, p)
		return nil
	})
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	for i := len(paths) - 1; i >= 0; i-- {
		_ = os.Remove(paths[i])
	}
	if _, statErr := os.Lstat(dir); errors.Is(statErr, fs.ErrNotExist) {
		return nil
	}
	return err
}

// jobStdin is every job's standard input: the null device, opened once.
// With no Stdin, exec.Cmd opens and closes it at each start, three system
// calls a job; sharing one read-only descriptor of it gives a job nothing
// the null device does not (its reads end at once whatever the file's
// flags). Nil where it cannot be opened: exec.Cmd then opens it itself.
var jobStdin = sync.OnceValue(func() *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		return nil
	}
	return f
})

// setStdin gives cmd jobStdin as its standard input.
func setStdin(cmd *exec.Cmd) {
	if f := jobStdin(); f != nil {
		cmd.Stdin = f
	}
}
