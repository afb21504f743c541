package sandbox

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// A held start overlaps the start of a job's first process with the wait
// for Spec.Ready (the write that stores a directly dispatched job): the
// process is forked and exec'd at once, traced, so the kernel stops it
// right after the exec, before the interpreter runs a single instruction;
// once Ready says yes it is let go, untraced. The fork and the exec (a
// quarter of a millisecond for bash) no longer wait for the write; what
// the runbook does still does.
//
// A tracee answers to the thread that started it, so the start, the wait
// for the stop and the release all run on one locked thread: the job
// group's forker on cgroup v1, else a thread locked for the purpose.
type heldStart struct {
	on      func(func() error) error // runs a function on the tracer thread
	release func()                   // gives the thread back
	pid     int
}

// holdRefused is set once a held start failed (the kernel refuses
// tracing: Yama's ptrace_scope, a seccomp policy; or anything else): jobs
// of this worker then start after Ready, the ordinary way.
var holdRefused atomic.Bool

// startHeld starts cmd stopped at its exec. Where holding cannot be had it
// returns nil, with nothing left running, and cmd is spent: the caller
// starts a fresh copy (restartable) after Ready.
func startHeld(lease *jobLease, cmd *exec.Cmd) *heldStart {
	if holdRefused.Load() {
		return nil
	}
	h := &heldStart{}
	if f := lease.forker(); f != nil {
		h.on, h.release = f.run, func() {}
	} else {
		h.on, h.release = lockedThread()
	}
	cmd.SysProcAttr.Ptrace = true
	err := h.on(func() error {
		lease.prepare(cmd.SysProcAttr)
		if err := cmd.Start(); err != nil {
			return err
		}
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(cmd.Process.Pid, &ws, unix.WALL, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				return fmt.Errorf("wait for the held process: %w", err)
			}
			break
		}
		if !ws.Stopped() {
			return fmt.Errorf("the held process ended before it ran (%v)", ws)
		}
		return nil
	})
	if err != nil {
		h.release()
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		holdRefused.Store(true)
		return nil
	}
	h.pid = cmd.Process.Pid
	return h
}

// detach lets a traced process go (a variable for the test of a refusal).
var detach = unix.PtraceDetach

// let lets the held process run, no longer traced. Should the kernel
// refuse, holding is off for this worker from then on; the caller kills
// the held process, which has not run, and starts the job anew.
func (h *heldStart) let() error {
	err := h.on(func() error { return detach(h.pid) })
	if err == nil {
		h.release()
	} else {
		holdRefused.Store(true)
	}
	return err
}

// kill ends the held process without letting it run a single instruction.
func (h *heldStart) kill(cmd *exec.Cmd) {
	defer h.release()
	_ = unix.Kill(h.pid, unix.SIGKILL)
	_ = cmd.Wait()
}

// lockedThread runs functions on one goroutine locked to its thread, until
// release. Unlike a forker's, the thread is unlocked at the end, not ended:
// a child's Pdeathsig fires when the thread that started it ends, and the
// process it traced runs on.
func lockedThread() (on func(func() error) error, release func()) {
	reqs, errs := make(chan func() error), make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for f := range reqs {
			errs <- f()
		}
	}()
	var closed atomic.Bool
	return func(f func() error) error {
			reqs <- f
			return <-errs
		}, func() {
			if closed.CompareAndSwap(false, true) {
				close(reqs)
			}
		}
}

// restartable is a fresh, unstarted copy of cmd, not traced, for a start
// the ordinary way after a held start failed.
func restartable(cmd *exec.Cmd) *exec.Cmd {
	c := exec.Command(cmd.Path, cmd.Args[1:]...)
	c.Args[0] = cmd.Args[0]
	c.Dir, c.Env, c.Stdin, c.Stdout, c.Stderr = cmd.Dir, cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr
	if cmd.SysProcAttr != nil {
		attr := *cmd.SysProcAttr
		attr.Ptrace = false
		c.SysProcAttr = &attr
	}
	return c
}
