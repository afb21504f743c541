package runbooker

import (
	"context"
	"time"
)

// WorkerGroup is a named pool of workers of one tenant. Jobs target a group,
// never a worker; any live worker of the group may take them.
type WorkerGroup struct {
	TenantID      string        `json:"tenantId"`
	Name          string        `json:"name"`
	TokenHash     string        `json:"-"`                      // SHA-256 of the registration token
	DefaultHybrid bool          `json:"defaultHybrid"`          // where runbooks named *_hybrid go
	RunAs         string        `json:"runAs,omitempty"`        // user jobs run as (Linux workers running as root)
	MaxRuntime    time.Duration `json:"maxRuntime,omitempty"`   // per-job runtime limit; 0: the worker's default
	Capacity      int           `json:"capacity,omitempty"`     // jobs per worker at once; 0: the worker's own setting
	PowerShell    string        `json:"powershell,omitempty"`   // "pwsh" or "powershell" (Windows PowerShell 5.1)
	SuspendAfter  time.Duration `json:"suspendAfter,omitempty"` // a queued job with no live worker is Suspended after this (default 30m)
	// Per-job resource limits where the worker enforces them (Linux, root,
	// cgroups); 0 means the worker's default.
	MemoryLimit  int64     `json:"memoryLimit,omitempty"`  // bytes
	MaxProcesses int       `json:"maxProcesses,omitempty"` // processes and threads at once
	CPUWeight    int       `json:"cpuWeight,omitempty"`    // 1..10000, 100 is an even share
	CreatedAt    time.Time `json:"createdAt"`
	// Limits of the current registration token, set when it is made
	// (group creation, rotation): after TokenExpiresAt (zero: never) or
	// TokenMaxUses registrations (0: no limit) it registers no more.
	// TokenUses counts the registrations with the current token.
	TokenExpiresAt time.Time `json:"tokenExpiresAt,omitzero"`
	TokenMaxUses   int       `json:"tokenMaxUses,omitempty"`
	TokenUses      int       `json:"tokenUses,omitempty"`
}

// Worker is one registered hybrid worker. Its credential is stored hashed;
// a removed worker's credential stops working at once.
type Worker struct {
	ID           string    `json:"id"`
	TenantID     string    `json:"tenantId"`
	Group        string    `json:"group"`
	Name         string    `json:"name"`
	SecretHash   string    `json:"-"`
	Version      string    `json:"version"`
	OS           string    `json:"os"`
	Arch         string    `json:"arch"`
	Hostname     string    `json:"hostname"`
	RegisteredAt time.Time `json:"registeredAt"`
	LastSeenAt   time.Time `json:"lastSeenAt"`
	// State is what the worker last said of itself: WorkerActive (also
	// for workers that never say), WorkerDraining or WorkerStopped.
	State WorkerState `json:"state,omitempty"`
	// Languages are the languages the worker has an interpreter for; nil
	// when it never said (a worker of an older version): then it is
	// assumed to run every language.
	Languages []Language `json:"languages,omitempty"`
}

// WorkerState is what a worker says of itself when it starts and stops.
type WorkerState string

// The states a worker reports.
const (
	WorkerActive   WorkerState = ""         // claiming jobs
	WorkerDraining WorkerState = "draining" // stopping: claims nothing more, finishes what it runs
	WorkerStopped  WorkerState = "stopped"  // exited
)

// Valid reports whether s is one of the states a worker may report.
func (s WorkerState) Valid() bool {
	return s == WorkerActive || s == WorkerDraining || s == WorkerStopped
}

// CanRun reports whether the worker has an interpreter for lang, as far as
// it said.
func (w *Worker) CanRun(lang Language) bool {
	if w.Languages == nil {
		return true
	}
	for _, l := range w.Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// WorkerReport is what a worker reports of itself outside registration.
type WorkerReport struct {
	State     WorkerState
	Languages []Language // nil: unchanged
	Now       time.Time  // also its last-seen time
}

// WorkerOnlineWindow is how recently a worker must have been seen to count
// as online: a long poll lasts about 30 s, so two missed polls mean offline.
const WorkerOnlineWindow = 75 * time.Second

// Online reports whether the worker was seen within WorkerOnlineWindow of
// now and has not said it stopped. A draining worker is online (it still
// finishes jobs) but claims no more.
func (w *Worker) Online(now time.Time) bool {
	return w.State != WorkerStopped && now.Sub(w.LastSeenAt) <= WorkerOnlineWindow
}

// WorkerStore persists worker groups and workers.
type WorkerStore interface {
	CreateGroup(ctx context.Context, g *WorkerGroup) error
	Group(ctx context.Context, tenantID, name string) (*WorkerGroup, error)
	// GroupByTokenHash finds the group a registration token belongs to, in any tenant.
	GroupByTokenHash(ctx context.Context, tokenHash string) (*WorkerGroup, error)
	ListGroups(ctx context.Context, tenantID string) ([]*WorkerGroup, error)
	// UpdateGroup replaces the group's settings, token hash and token
	// limits (TokenExpiresAt, TokenMaxUses). TokenUses is not written: it
	// is kept while the token hash stays, and starts at 0 for a new one.
	UpdateGroup(ctx context.Context, g *WorkerGroup) error
	// UseGroupToken counts one registration with the token of that hash and
	// returns its group, counted, in one atomic step: of concurrent callers
	// no more than TokenMaxUses succeed. ENOTFOUND for an unknown token;
	// ECONFLICT, saying which, for one expired at now or used up.
	UseGroupToken(ctx context.Context, tokenHash string, now time.Time) (*WorkerGroup, error)
	// DeleteGroup removes an empty group; ECONFLICT while workers belong to it.
	DeleteGroup(ctx context.Context, tenantID, name string) error

	CreateWorker(ctx context.Context, w *Worker) error
	// Worker looks a worker up by id in any tenant (authentication starts from the id).
	Worker(ctx context.Context, id string) (*Worker, error)
	ListWorkers(ctx context.Context, tenantID, group string) ([]*Worker, error)
	// TouchWorker records that the worker was seen, with what it reports of itself.
	TouchWorker(ctx context.Context, id string, now time.Time) error
	// ReportWorker stores what a worker says of itself (state, languages)
	// and that it was seen.
	ReportWorker(ctx context.Context, id string, r WorkerReport) error
	DeleteWorker(ctx context.Context, tenantID, id string) error
	// LastSeen returns, per group of the tenant, when its most recently seen worker was seen.
	LastSeen(ctx context.Context, tenantID string) (map[string]time.Time, error)
}
