package runbooker

import "context"

// Event is a wake-up that crosses server replicas sharing one database.
type Event struct {
	Kind  EventKind `json:"k"`
	Group string    `json:"g,omitempty"` // EventQueued: the worker group
	JobID string    `json:"j,omitempty"` // EventDone, EventStop: the job
	Count int       `json:"n,omitempty"` // EventQueued: how many jobs
}

// EventKind names what happened.
type EventKind string

// Event kinds.
const (
	EventQueued EventKind = "queued" // jobs were queued for Group: wake its claimers
	EventDone   EventKind = "done"   // JobID ended (or was parked): wake its waiters
	EventStop   EventKind = "stop"   // JobID should stop: kill it if it runs here
)

// Bus carries events between the replicas of a deployment. A single-process
// deployment (SQLite) needs none. Delivery is best effort: replicas also
// re-check on a slow fallback poll, so a lost event only costs latency.
type Bus interface {
	// Publish sends an event to every other replica.
	Publish(ctx context.Context, e Event) error
	// Subscribe calls fn for each event another replica published, until
	// ctx ends. It reconnects by itself after database outages.
	Subscribe(ctx context.Context, fn func(Event)) error
}
