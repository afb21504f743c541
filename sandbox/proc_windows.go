package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

var ntResumeProcess = windows.NewLazySystemDLL("ntdll.dll").NewProc("NtResumeProcess")

// procGroup is the job object of one job. The process starts suspended and
// is resumed only once it is in the job, so nothing it starts can escape;
// closing the job kills whatever is left.
type procGroup struct {
	job windows.Handle
}

func newProcGroup(cmd *exec.Cmd, runAs *Credential) (*procGroup, error) {
	if runAs != nil {
		return nil, errors.New("RunAs is not supported on Windows workers")
	}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create job object: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("configure job object: %w", err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags: windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP,
		HideWindow:    true,
	}
	return &procGroup{job: job}, nil
}

func (g *procGroup) started(p *os.Process) error {
	var err error
	herr := p.WithHandle(func(h uintptr) {
		if err = windows.AssignProcessToJobObject(g.job, windows.Handle(h)); err != nil {
			err = fmt.Errorf("assign process to job object: %w", err)
			return
		}
		if status, _, _ := ntResumeProcess.Call(h); status != 0 {
			err = fmt.Errorf("resume process: NTSTATUS %#x", status)
		}
	})
	if herr != nil {
		return herr
	}
	return err
}

// terminate ends the job at once: Windows has no SIGTERM for console
// programs in another process group.
func (g *procGroup) terminate() { g.kill() }

// killWait bounds how long kill waits for the job's processes to be gone.
const killWait = 10 * time.Second

// kill ends every process of the job and waits until none is left:
// TerminateJobObject only starts the termination, and the files the
// processes had open (in the job directory among them) cannot be deleted
// until they are gone.
func (g *procGroup) kill() {
	_ = windows.TerminateJobObject(g.job, 1)
	waitFor(killWait, func() bool {
		n, err := g.active()
		return err != nil || n == 0
	})
}

// jobAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION.
type jobAccounting struct {
	TotalUserTime             int64
	TotalKernelTime           int64
	ThisPeriodTotalUserTime   int64
	ThisPeriodTotalKernelTime int64
	TotalPageFaultCount       uint32
	TotalProcesses            uint32
	ActiveProcesses           uint32
	TotalTerminatedProcesses  uint32
}

// active is the number of the job's processes that have not ended.
func (g *procGroup) active() (uint32, error) {
	var info jobAccounting
	err := windows.QueryInformationJobObject(g.job, windows.JobObjectBasicAccountingInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil)
	return info.ActiveProcesses, err
}

// removeDelays are the waits between attempts at removing a job directory:
// a file stays undeletable for a moment after the last handle to it
// closed when a virus scanner or the indexer looks at it.
var removeDelays = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
	80 * time.Millisecond, 160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond}

func (g *procGroup) close() { windows.CloseHandle(g.job) }

func handOver(string, []string, *Credential) error { return nil }

func peekExit(int) bool { return false }

// setCommandLine gives cmd its command line as it is, instead of the one
// os/exec would build from its arguments.
func setCommandLine(cmd *exec.Cmd, line string) { cmd.SysProcAttr.CmdLine = line }
