//go:build !linux

package sandbox

import "os/exec"

// heldStart exists on Linux only (see hold_linux.go): elsewhere a job's
// process starts once Spec.Ready has answered.
type heldStart struct{}

func startHeld(*jobLease, *exec.Cmd) *heldStart { return nil }
func (h *heldStart) let() error                 { return nil }
func (h *heldStart) kill(*exec.Cmd)             {}
func restartable(cmd *exec.Cmd) *exec.Cmd       { return cmd } // never called: nothing is held
