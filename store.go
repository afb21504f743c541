package runbooker

import (
	"context"
	"time"
)

// Store is the persistence contract. Each engine (SQLite, PostgreSQL)
// implements it with its own SQL and passes the same conformance suite
// (package storetest). Every call that names an object is tenant-scoped:
// another tenant's object is ENOTFOUND, never visible.
type Store interface {
	TenantStore
	CredentialStore
	RunbookStore
	JobStore
	SettingStore
	WorkerStore
	AssetStore
	UserStore
	SessionStore
	AuditStore
	ModuleStore
	WebhookStore
	ScheduleStore
	// Ping reports whether the database answers; EUNAVAILABLE when it does not.
	Ping(ctx context.Context) error
	Close() error
}

// LazyStore is implemented by a store on which a durable commit costs a
// flush that outweighs the write itself (PostgreSQL's WAL flush). A write
// made lazily is committed, and seen by every reader, but it is durable
// only once a later durable commit or a Flush returns: a crash of the
// database (not of the server: the database holds the commit) may lose it
// until then. It serves writes nobody has been told of yet, such as a
// synchronous run's job, whose caller learns of it only in the answer.
type LazyStore interface {
	// CreateJobLazily is CreateJob, committed lazily.
	CreateJobLazily(ctx context.Context, j *Job) error
	// Flush returns once every write committed before it is durable.
	Flush(ctx context.Context) error
}

// TenantStore persists tenants.
type TenantStore interface {
	// EnsureTenant creates the tenant if it does not exist.
	EnsureTenant(ctx context.Context, id string) error
	Tenants(ctx context.Context) ([]Tenant, error)
	// TenantOutputBytes returns how many bytes of record text and values
	// are stored for the tenant's jobs (0 for an unknown tenant). It reads
	// every record of the tenant: callers cache it.
	TenantOutputBytes(ctx context.Context, tenantID string) (int64, error)
}

// CredentialStore persists API credentials (hashed).
type CredentialStore interface {
	CreateCredential(ctx context.Context, c *Credential) error
	// Credential looks up a credential by id in any tenant: authentication
	// starts from the id alone.
	Credential(ctx context.Context, id string) (*Credential, error)
	ListCredentials(ctx context.Context, tenantID string) ([]*Credential, error)
	DeleteCredential(ctx context.Context, tenantID, id string) error
}

// RunbookStore persists runbooks and every version of their source.
type RunbookStore interface {
	// PutRunbook stores content under its hash (kept forever, deduplicated)
	// and creates or updates the runbook to point at it. rb.Version must be
	// ContentHash(content). CreatedAt/UpdatedAt are set by the store.
	PutRunbook(ctx context.Context, rb *Runbook, content []byte) (PutRunbookResult, error)
	Runbook(ctx context.Context, tenantID, name string) (*Runbook, error)
	ListRunbooks(ctx context.Context, tenantID string, f RunbookFilter) ([]*Runbook, error)
	DeleteRunbook(ctx context.Context, tenantID, name string) error
	// RunbookContent returns the source stored under a version hash.
	RunbookContent(ctx context.Context, tenantID, version string) ([]byte, error)
}

// JobStore persists jobs and their stream records. State changes made by a
// worker are fenced by JobRef.Attempt: a stale attempt gets ECONFLICT.
type JobStore interface {
	// CreateJob queues a job (New). When j.WorkerID is set the job is
	// handed straight to a waiting claimer instead (direct dispatch): it is
	// created Activating, attempt 1, with that worker and j.LeaseExpiresAt
	// as its lease — the same state a claim would have left it in.
	CreateJob(ctx context.Context, j *Job) error
	// CreateJobs queues several jobs (each New, as CreateJob without a
	// WorkerID) in one write: either all are stored or none is. Each job
	// is filled in as CreateJob fills it. Empty js is a no-op.
	CreateJobs(ctx context.Context, js []*Job) error
	Job(ctx context.Context, tenantID, id string) (*Job, error)
	ListJobs(ctx context.Context, tenantID string, f JobFilter) (JobPage, error)

	// ClaimJobs atomically moves up to p.Limit New jobs of p.Group (oldest
	// first) to Activating, increments their attempt, sets the worker and
	// lease, and returns them with NextSeq set.
	ClaimJobs(ctx context.Context, p ClaimParams) ([]*Job, error)
	// StartJob moves an Activating attempt to Running.
	StartJob(ctx context.Context, ref JobRef, now time.Time) error
	// ExtendLeases extends the leases of the given attempts and reports, per
	// attempt, whether it was lost and whether a stop is pending.
	ExtendLeases(ctx context.Context, p LeaseParams) ([]LeaseState, error)
	// AppendStreams stores records of an attempt. Records whose Seq is
	// already stored are ignored, so a retried upload never duplicates.
	AppendStreams(ctx context.Context, ref JobRef, recs []StreamRecord) error
	// FinishJob ends an attempt. Finishing an attempt that already ended
	// the same way is not an error (a retried delivery).
	FinishJob(ctx context.Context, p FinishParams) (*Job, error)
	// FinishAndClaim is FinishJob followed by ClaimJobs(c) in one write: a
	// worker slot that ends a job takes its next one in the same commit.
	// A finish refused for its job (fenced off: ECONFLICT; no such job:
	// ENOTFOUND) still claims, and jobs returned are the worker's whatever
	// the error says; on any other error nothing was done.
	FinishAndClaim(ctx context.Context, f FinishParams, c ClaimParams) (*Job, []*Job, error)

	// RequestStop stops a New or Suspended job at once (Stopped) and marks an
	// Activating or Running one Stopping. Terminal jobs are returned as they are.
	RequestStop(ctx context.Context, tenantID, id string, now time.Time) (*Job, error)
	// ResumeJob re-queues a Suspended job (New); other states are EINVALID.
	ResumeJob(ctx context.Context, tenantID, id string, now time.Time) (*Job, error)
	Streams(ctx context.Context, tenantID, id string, f StreamFilter) ([]StreamRecord, error)

	// SuspendWaiting parks New jobs of a group queued since before
	// p.QueuedBefore (no live worker took them in time): Suspended with
	// p.Reason as StatusReason. It returns the ids it parked.
	SuspendWaiting(ctx context.Context, p SuspendParams) ([]string, error)
	// RescueJobs handles attempts whose lease expired: Activating → New;
	// Running → New with a Warning record, or Suspended once LostCount
	// reaches p.MaxAttempts; Stopping → Stopped. Safe to run concurrently.
	RescueJobs(ctx context.Context, p RescueParams) ([]RescuedJob, error)
	// PurgeJobs deletes terminal jobs (and their records) that ended before
	// the given time, returning how many were deleted.
	PurgeJobs(ctx context.Context, endedBefore time.Time) (int, error)
	// QueueStats returns, per worker group name across all tenants, how
	// many jobs are queued (New) and when the oldest of them was created,
	// ordered by group; groups with nothing queued are absent. It reads only
	// the queue's index: metrics call it at every scrape.
	QueueStats(ctx context.Context) ([]QueueStat, error)
}

// SettingStore persists per-tenant settings documents such as the
// customization JSON and the permissions JSON, stored verbatim.
type SettingStore interface {
	// Setting returns the document stored under key, ENOTFOUND when absent.
	Setting(ctx context.Context, tenantID, key string) ([]byte, error)
	// Settings returns the documents stored under keys, in one read; an
	// absent key is absent from the map.
	Settings(ctx context.Context, tenantID string, keys []string) (map[string][]byte, error)
	PutSetting(ctx context.Context, tenantID, key string, value []byte) error
}
