//go:build unix

package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// procGroup is the process group of one job: the runbook's main process
// leads it, and everything it starts belongs to it unless it leaves on
// purpose (setsid).
type procGroup struct {
	pgid int
}

func newProcGroup(cmd *exec.Cmd, runAs *Credential) (*procGroup, error) {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if runAs != nil {
		// Groups nil drops the worker's supplementary groups.
		attr.Credential = &syscall.Credential{Uid: runAs.UID, Gid: runAs.GID, Groups: runAs.Groups}
	}
	setDeathSignal(attr)
	cmd.SysProcAttr = attr
	return &procGroup{}, nil
}

func (g *procGroup) started(p *os.Process) error {
	g.pgid = p.Pid
	return nil
}

// terminate asks every process of the group to end.
func (g *procGroup) terminate() { g.signal(syscall.SIGTERM) }

// kill ends every process of the group at once.
func (g *procGroup) kill() { g.signal(syscall.SIGKILL) }

func (g *procGroup) signal(sig syscall.Signal) {
	if g.pgid > 0 {
		err := syscall.Kill(-g.pgid, sig)
		if err != nil && !errors.Is(err, syscall.ESRCH) {
			_ = syscall.Kill(g.pgid, sig) // at least the main process
		}
	}
}

func (g *procGroup) close() {}

// removeDelays are the waits between attempts at removing a job directory:
// none on Unix, where a file can be removed while a process has it open.
var removeDelays []time.Duration

// handOver gives the job directory and its files to the RunAs user.
func handOver(dir string, names []string, runAs *Credential) error {
	if runAs == nil {
		return nil
	}
	uid, gid := int(runAs.UID), int(runAs.GID)
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	for _, n := range names {
		if err := os.Chown(dir+"/"+n, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// setCommandLine is for Windows, where a program parses its command line
// itself; Unix passes the arguments as they are.
func setCommandLine(*exec.Cmd, string) {}
