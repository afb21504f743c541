//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Freezing and thawing a worker (SIGSTOP, SIGCONT) exists on Unix only.
const (
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
)

// ownProcessGroup starts cmd in a process group of its own: as root the
// worker runs as two processes (the second in a mount namespace of its
// own), and SIGSTOP, which cannot be passed on, must reach both.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group pid leads.
func signalGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
}

// processGone reports whether pid no longer exists (or is a zombie).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || strings.Contains(string(b), ") Z ")
}
