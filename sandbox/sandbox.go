package sandbox

import (
	"time"

	"github.com/runbooker/runbooker"
)

// Limits and timings of a job. They are constants, not settings: the line
// protocol (see the package documentation) is defined with them.
const (
	// DefaultOutputCap is the per-job cap on stored record bytes when
	// Spec.OutputCap is zero.
	DefaultOutputCap = 16 << 20
	// MaxLineBytes is the longest plain line stored as one record. A longer
	// line is split into consecutive records of at most this many bytes (cut
	// at a UTF-8 boundary), all in the stream the first piece went to.
	MaxLineBytes = 1 << 20
	// MaxFrameBytes is the longest structured frame line accepted. A longer
	// frame cannot be parsed; it is dropped and replaced by a Warning record
	// that says so.
	MaxFrameBytes = 8 << 20
	// BatchRecords is the number of records after which pending records are
	// handed to the Emitter at once.
	BatchRecords = 1000
	// BatchDelay is how long a record may wait for its batch to fill before
	// it is handed to the Emitter anyway.
	BatchDelay = 50 * time.Millisecond
	// KillGrace is how long a stopped or timed-out process tree has between
	// SIGTERM and SIGKILL (Windows has no graceful step: its job object is
	// terminated at once).
	KillGrace = 2 * time.Second
	// DrainDelay is how long output is still read after the runbook's main
	// process ended and its process group was killed. Only a process that
	// left the group (setsid, double fork into a new session) can keep the
	// pipes open that long; its later output is not collected.
	DrainDelay = 2 * time.Second
)

// Spec describes one attempt of a job to run.
type Spec struct {
	JobID    string
	Language runbooker.Language
	Script   []byte
	// Params are the bound parameter values (see runbooker.BindParameters),
	// keyed by the declared parameter names.
	Params map[string]any
	// FirstSeq is the sequence number of the first record; later records get
	// strictly increasing numbers.
	FirstSeq int64
	// Timeout is the runtime limit; 0 means none. A job over it has its
	// process tree killed and fails with an exception naming the limit.
	Timeout time.Duration
	// OutputCap is the most bytes of record text (and value) kept for the
	// job; 0 means DefaultOutputCap. Records beyond it are read and dropped,
	// and one Warning record at the end says how many.
	OutputCap int64
	// OutputCapReason, when set, opens the Warning record about records
	// the cap dropped instead of "Output limit of N reached" (the tenant's
	// quota of stored output, for example).
	OutputCapReason string
	// Env holds extra environment variables for the process (for example the
	// asset channel's address and the job's token). They win over every
	// variable the sandbox sets itself.
	Env map[string]string
	// PathDirs are put first on the runbook's PATH (the worker's helper
	// commands, e.g. automation-asset).
	PathDirs []string
	// PowerShell chooses the interpreter of PowerShell runbooks: "pwsh" (the
	// default, PowerShell 7) or "powershell" (Windows PowerShell 5.1).
	PowerShell string
	// RunAs is the operating-system identity to run as; nil means the
	// worker's own.
	RunAs *Credential
	// Limits are the job's resource limits (zero fields: the worker's
	// defaults); enforced where Isolate set up cgroups.
	Limits Limits
	// Secrets, when set, returns the secret values the job has read so far.
	// They are masked (as ***) in every record and in the exception before
	// anything leaves the sandbox; see the package documentation.
	Secrets func() []string
	// Helpers names commands on PathDirs that Bash runbooks call (the asset
	// helper). A shell reporting one of them as not found or not executable
	// fails the job with an exception saying so, even if the runbook went on
	// and exited 0: a runbook that could not reach its assets did not do its
	// work.
	Helpers []string
	// OnStart, when set, is called with the process id right after the
	// process started, before any output is read.
	OnStart func(pid int)
	// Ready, when set, is called once everything is prepared, just before
	// the process starts; an error aborts the run with no process started
	// (Result.Aborted). The built-in worker is handed a job while the write
	// that creates it is still committing, and prepares it meanwhile: Ready
	// waits for that write, so no runbook runs before its job is stored.
	Ready func() error
}

// Credential is an operating-system identity a runbook process runs as. It
// is honoured on Linux and other Unix systems (the worker needs the right to
// switch users, normally by running as root); on Windows a job with RunAs
// fails.
type Credential struct {
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups; nil means none
}

// Emitter receives a job's records. It is called from one goroutine, in Seq
// order, with batches of at most BatchRecords records; the slice is not
// touched by the sandbox afterwards, so the Emitter may keep it. A slow
// Emitter slows the runbook down (its output pipes fill up) but never loses
// records.
type Emitter func(recs []runbooker.StreamRecord)

// Result is how a job attempt ended.
type Result struct {
	// Status is Completed, Failed or Stopped.
	Status runbooker.JobStatus
	// Exception is a one-line message for a Failed job, empty otherwise.
	Exception string
	// ExitCode is the main process's exit code; -1 when it was killed by a
	// signal or never started.
	ExitCode int
	// Dropped is the number of records dropped because of the output cap.
	Dropped int64
	// NextSeq is one more than the last sequence number used: the FirstSeq
	// of a later attempt that must not collide with this one.
	NextSeq int64
	// Aborted says Spec.Ready refused: no process started and the job is
	// not to be reported (Exception says why).
	Aborted bool
}
