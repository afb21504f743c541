package runbooker

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// JobStatus is a job's state, spelled exactly as Azure Automation does.
type JobStatus string

// Job states. New → Activating → Running → Completed | Failed | Stopped;
// Stopping while a stop is pending; Suspended when parked until resumed.
const (
	StatusNew        JobStatus = "New"
	StatusActivating JobStatus = "Activating"
	StatusRunning    JobStatus = "Running"
	StatusCompleted  JobStatus = "Completed"
	StatusFailed     JobStatus = "Failed"
	StatusStopping   JobStatus = "Stopping"
	StatusStopped    JobStatus = "Stopped"
	StatusSuspended  JobStatus = "Suspended"
)

// AllStatuses lists every job status.
var AllStatuses = []JobStatus{StatusNew, StatusActivating, StatusRunning, StatusCompleted,
	StatusFailed, StatusStopping, StatusStopped, StatusSuspended}

// Terminal reports whether a job in this status will never change again.
func (s JobStatus) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusStopped
}

// Valid reports whether s is a known status.
func (s JobStatus) Valid() bool {
	for _, x := range AllStatuses {
		if s == x {
			return true
		}
	}
	return false
}

// CloudGroup is the built-in worker group that runs inside the server.
const CloudGroup = "cloud"

// Job is one execution of a runbook version with bound parameters on a
// worker group.
type Job struct {
	ID             string         `json:"id"`
	TenantID       string         `json:"tenantId"`
	RunbookName    string         `json:"runbookName"`
	RunbookVersion string         `json:"runbookVersion"`
	Language       Language       `json:"language"`
	Parameters     map[string]any `json:"parameters"`
	RunOn          string         `json:"runOn"`
	Caller         string         `json:"caller"`
	LogVerbose     bool           `json:"logVerbose"` // the runbook's "log verbose records" when the job was created
	Status         JobStatus      `json:"status"`
	StatusReason   string         `json:"statusReason,omitempty"` // why it waits or was parked
	Exception      string         `json:"exception,omitempty"`
	Attempt        int            `json:"attempt"`   // fencing token: incremented by every claim
	LostCount      int            `json:"lostCount"` // times a worker lost it while Running
	WorkerID       string         `json:"workerId,omitempty"`
	CreatedAt      time.Time      `json:"createdAt"`
	StartedAt      time.Time      `json:"startedAt,omitzero"`
	EndedAt        time.Time      `json:"endedAt,omitzero"`
	LastModifiedAt time.Time      `json:"lastModifiedAt"`
	LeaseExpiresAt time.Time      `json:"leaseExpiresAt,omitzero"`
	// NextSeq is the first stream sequence number the claiming worker must
	// use; set only on jobs returned by a claim.
	NextSeq int64 `json:"nextSeq,omitempty"`
	// Target is the directory object the job acts on (the user whose
	// mailbox, the device to wipe); nil when it acts on none in particular.
	Target *JobTarget `json:"target,omitempty"`
	// Schedule names the schedule that started the job ("" for none);
	// CatchUp says it ran late for occurrences missed while no server
	// was up.
	Schedule string `json:"schedule,omitempty"`
	CatchUp  bool   `json:"catchUp,omitempty"`
}

// JobTarget names the directory object a job acts on, as it was when the
// job was created.
type JobTarget struct {
	Kind string `json:"kind"` // user, device or group
	ID   string `json:"id"`
	Name string `json:"name"` // display name or UPN, for people reading the job
}

// JobRef names one attempt of a job: the unit of fencing.
type JobRef struct {
	ID      string `json:"id"`
	Attempt int    `json:"attempt"`
}

// NewUUID returns a time-ordered (version 7) UUID in its canonical text
// form: 48 bits of Unix milliseconds, then 74 random bits. New jobs' ids
// then land at the end of the id index instead of on a random page.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic("runbooker: crypto/rand failed: " + err.Error())
	}
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// JobFilter selects jobs in a listing. Empty fields match everything.
type JobFilter struct {
	Status        []JobStatus
	RunbookName   string
	RunOn         string
	Caller        string
	CreatedAfter  time.Time
	CreatedBefore time.Time
	Limit         int    // default 100, at most 1000
	Cursor        string // opaque, from a previous JobPage.Next
}

// JobPage is one page of a job listing, newest first.
type JobPage struct {
	Jobs []*Job `json:"jobs"`
	Next string `json:"next,omitempty"` // cursor of the next page; empty at the end
}

// ClaimParams asks for up to Limit queued jobs of a group.
type ClaimParams struct {
	TenantID   string // empty: any tenant (the built-in group serves all tenants)
	Group      string
	WorkerID   string
	Limit      int
	Now        time.Time
	LeaseUntil time.Time
	// Languages limits the claim to jobs the worker has an interpreter
	// for; nil claims jobs of any language.
	Languages []Language
}

// FinishParams ends one attempt of a job.
type FinishParams struct {
	Ref       JobRef
	Status    JobStatus // Completed, Failed or Stopped
	Exception string
	Now       time.Time
	// Records are stored with the finish, in the same transaction, with
	// AppendStreams' rules: a short job costs one write, not two.
	Records []StreamRecord
	// StartedAt, when set and the job has no start time yet, becomes its
	// start time: a short job may end before its start was reported.
	StartedAt time.Time
}

// SuspendParams selects queued jobs that waited too long for a worker.
type SuspendParams struct {
	TenantID string // empty: every tenant
	Group    string
	// QueuedBefore selects jobs that have been New since before it (their
	// last status change): a job just resumed or re-queued waits afresh.
	QueuedBefore time.Time
	Reason       string
	Now          time.Time
}

// LeaseParams extends the leases of jobs a worker holds.
type LeaseParams struct {
	WorkerID string
	Refs     []JobRef
	Now      time.Time
	Until    time.Time
}

// LeaseState is the answer for one job of a lease extension.
type LeaseState struct {
	Ref    JobRef    `json:"ref"`
	Lost   bool      `json:"lost"`   // the attempt was fenced off: stop the process, report nothing more
	Status JobStatus `json:"status"` // current status; Stopping means "kill it and finish as Stopped"
}

// RescueParams configures one pass of the lease rescuer.
type RescueParams struct {
	Now         time.Time
	MaxAttempts int // Running jobs lost this many times are Suspended
}

// RescuedJob reports what the rescuer did to one job.
type RescuedJob struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenantId"`
	RunOn    string    `json:"runOn"`
	From     JobStatus `json:"from"`
	To       JobStatus `json:"to"`
}

// QueueStat is the queue of one worker group name (all tenants together),
// as Store.QueueStats reports it for metrics.
type QueueStat struct {
	Group           string
	Queued          int
	OldestCreatedAt time.Time
}
