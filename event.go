package runbooker

// LiveEvent is a change someone watching a tenant may want to see at once:
// a job created or changing status, a worker coming online or going
// offline, a sync finished. The engine reports those it causes to the HTTP
// server (engine.SetOnEvent), which streams them to listeners
// (GET /api/v1/events). Unlike Event, it does not cross replicas: a
// listener sees the changes made through its own server only.
type LiveEvent struct {
	Kind     LiveEventKind
	TenantID string // empty when the reporter does not know it (a job's start names only the job)
	// Job is the job as stored after the change, when the reporter has it;
	// otherwise JobID and Status say what changed.
	Job    *Job
	JobID  string
	Status JobStatus
	Worker *Worker // worker events
	// Group is the job's worker group when Job is nil and the reporter
	// knows it (the rescuer, the starved-queue suspension): for metrics.
	Group string
}

// LiveEventKind names a live event, as the event stream's "event:" field.
type LiveEventKind string

// Live event kinds.
const (
	LiveJobCreated    LiveEventKind = "job.created"
	LiveJobStatus     LiveEventKind = "job.status" // the job's status changed, finished included
	LiveWorkerOnline  LiveEventKind = "worker.online"
	LiveWorkerOffline LiveEventKind = "worker.offline"
	LiveSyncFinished  LiveEventKind = "sync.finished"
)
