//go:build windows

package main

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// Windows cannot freeze a process with a signal: these are values no
// signalGroup call acts on, so the tests that freeze a worker compile but
// skip on Windows.
const (
	sigStop = syscall.Signal(-19)
	sigCont = syscall.Signal(-18)
)

// ownProcessGroup starts cmd in a console process group of its own.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// signalGroup ends the process for SIGKILL and SIGTERM (Windows has no
// other signals between processes) and ignores the rest.
func signalGroup(pid int, sig syscall.Signal) {
	if sig != syscall.SIGKILL && sig != syscall.SIGTERM {
		return
	}
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// processGone reports whether pid no longer runs.
func processGone(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return true
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	return code != 259 // STILL_ACTIVE
}
