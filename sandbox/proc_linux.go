package sandbox

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// setDeathSignal kills the runbook if the worker dies: its output and
// status could not be reported, and the job will run again elsewhere.
func setDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// peekExit blocks until the process pid has exited, without reaping it. As
// long as it is not reaped its pid, and so its process group id, cannot be
// reused, so the group can still be killed safely. It reports false when it
// could not wait.
func peekExit(pid int) bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, syscall.EINTR) {
			return err == nil
		}
	}
}
