package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/gitsync"
)

// The live event stream (GET /api/v1/events): one Server-Sent Events stream
// per listener of what happens in its tenant — jobs created and changing
// status, workers coming online and going offline, syncs finished — each
// filtered by what the listener may see.
//
// Events live in memory, in a bounded ring per tenant, so a client that
// lost its connection resumes with Last-Event-ID; one whose last event has
// left the ring (or that saw another server run) gets a "reload" event
// telling it to read the state afresh.
//
// Job and sync events are those of this server process only: with several
// servers on one PostgreSQL database, a listener does not see the jobs that
// other servers created, started or finished, nor their syncs (the
// replicas' bus, runbooker.Bus, could carry live events later). Workers are
// the exception: a per-tenant watch reads their liveness from the database
// (watchWorkers), so workers of other servers, and workers that fell
// silent, are told too, within workerWatch.

// eventRingSize is how many recent events per tenant a resume can replay.
const eventRingSize = 512

// eventPing is how often an idle stream gets a comment line, so proxies and
// browsers keep it open.
const eventPing = 25 * time.Second

// workerWatch is how often the workers of a tenant with listeners are read,
// to tell of workers that went offline by falling silent (a crash, a lost
// network), which nothing reports as it happens, and of workers that came
// and went through another server sharing the database.
const workerWatch = 5 * time.Second

// maxTrackedJobs bounds the jobs whose identity the broker remembers (for
// events that name only a job id, such as a job's start).
const maxTrackedJobs = 100_000

// JobEvent is the data of job.created and job.status events.
type JobEvent struct {
	ID       string               `json:"id"`
	Runbook  string               `json:"runbook"`
	Status   runbooker.JobStatus  `json:"status"`
	RunOn    string               `json:"runOn,omitempty"`
	Caller   string               `json:"caller,omitempty"`
	Target   *runbooker.JobTarget `json:"target,omitempty"`
	WorkerID string               `json:"workerId,omitempty"`
}

// WorkerEvent is the data of worker.online and worker.offline events.
type WorkerEvent struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Group      string    `json:"group"`
	Status     string    `json:"status"`
	LastSeenAt time.Time `json:"lastSeenAt"`
}

// SyncEvent is the data of sync.finished events.
type SyncEvent struct {
	Source string `json:"source"`
	gitsync.Status
}

// ReloadEvent is the data of a "reload" event: the events since the
// client's Last-Event-ID are no longer known, so it must read the state
// afresh.
type ReloadEvent struct {
	Reason string `json:"reason"`
}

// liveItem is an event in a tenant's ring.
type liveItem struct {
	seq   int64
	kind  runbooker.LiveEventKind
	job   *runbooker.Job // job events: the job as last known (nil: load jobID)
	jobID string
	data  any // the event's JSON data
}

// tenantEvents is one tenant's ring of recent events.
type tenantEvents struct {
	ring []liveItem // ring[(seq-1) % eventRingSize] holds event seq
	last int64      // seq of the newest event; 0: none yet
	wake chan struct{}

	listeners int
	watching  bool            // a workers watch runs (watchWorkers)
	online    map[string]bool // worker id → online, as last told; nil until first read
}

// eventBroker keeps recent events per tenant and wakes listeners. It keeps
// nothing for a tenant until someone listens there.
type eventBroker struct {
	boot string // this process's run: ids of another run are not resumable
	mu   sync.Mutex
	tens map[string]*tenantEvents
	jobs map[string]*runbooker.Job // job id → last known job, of tenants with rings
}

func newEventBroker() *eventBroker {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &eventBroker{boot: hex.EncodeToString(b), tens: map[string]*tenantEvents{}, jobs: map[string]*runbooker.Job{}}
}

// tenant returns the tenant's ring, making it.
func (b *eventBroker) tenant(id string) *tenantEvents {
	t := b.tens[id]
	if t == nil {
		t = &tenantEvents{ring: make([]liveItem, eventRingSize), wake: make(chan struct{})}
		b.tens[id] = t
	}
	return t
}

// publishEngine takes an event the engine reports. It must not block.
func (b *eventBroker) publishEngine(ev runbooker.LiveEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev.Kind {
	case runbooker.LiveJobCreated, runbooker.LiveJobStatus:
		j := ev.Job
		if j == nil {
			known := b.jobs[ev.JobID]
			if ev.TenantID == "" && known == nil {
				return // a job no one here listened for
			}
			if known != nil {
				c := *known
				c.Status = ev.Status
				j = &c
			}
		}
		tenant := ev.TenantID
		if j != nil {
			tenant = j.TenantID
		}
		if b.tens[tenant] == nil {
			return // no one listens there
		}
		it := liveItem{kind: ev.Kind, jobID: ev.JobID, job: j}
		if j != nil {
			if j.Status.Terminal() {
				delete(b.jobs, j.ID)
			} else {
				if len(b.jobs) >= maxTrackedJobs {
					clear(b.jobs)
				}
				b.jobs[j.ID] = j
			}
			it.data = JobEvent{ID: j.ID, Runbook: j.RunbookName, Status: ev.Status, RunOn: j.RunOn, Caller: j.Caller,
				Target: j.Target, WorkerID: j.WorkerID}
		}
		b.add(tenant, it)
	case runbooker.LiveWorkerOnline, runbooker.LiveWorkerOffline:
		t := b.tens[ev.TenantID]
		if ev.Worker == nil || t == nil {
			return
		}
		w := ev.Worker
		on := ev.Kind == runbooker.LiveWorkerOnline
		if was, known := t.online[w.ID]; known && was == on {
			return // told already, by the workers watch
		} else if t.online != nil {
			t.online[w.ID] = on
		}
		status := "online"
		if ev.Kind == runbooker.LiveWorkerOffline {
			status = "offline"
		} else if w.State == runbooker.WorkerDraining {
			status = "draining"
		}
		b.add(ev.TenantID, liveItem{kind: ev.Kind, data: WorkerEvent{ID: w.ID, Name: w.Name, Group: w.Group, Status: status, LastSeenAt: w.LastSeenAt}})
	}
}

// workersSeen compares a tenant's workers as just read with what listeners
// were told, and tells them of the changes.
func (b *eventBroker) workersSeen(tenant string, ws []*runbooker.Worker, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tens[tenant]
	if t == nil {
		return
	}
	first := t.online == nil
	seen := make(map[string]bool, len(ws))
	for _, w := range ws {
		on := w.Online(now)
		seen[w.ID] = on
		was, known := t.online[w.ID]
		if first || (known && was == on) || (!known && !on) {
			continue
		}
		kind := runbooker.LiveWorkerOffline
		if on {
			kind = runbooker.LiveWorkerOnline
		}
		b.add(tenant, liveItem{kind: kind, data: WorkerEvent{ID: w.ID, Name: w.Name, Group: w.Group,
			Status: workerStatus(w, now), LastSeenAt: w.LastSeenAt}})
	}
	t.online = seen
}

// listen counts a listener of a tenant in, and says whether a workers
// watch must start for it.
func (b *eventBroker) listen(tenant string) (startWatch bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tenant(tenant)
	t.listeners++
	if !t.watching {
		t.watching = true
		return true
	}
	return false
}

func (b *eventBroker) unlisten(tenant string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tens[tenant].listeners--
}

// keepWatching reports whether a tenant's workers watch goes on: while it
// has listeners. A watch that ends says so under the lock, so the next
// listener starts a new one.
func (b *eventBroker) keepWatching(tenant string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tens[tenant]
	if t.listeners > 0 {
		return true
	}
	t.watching, t.online = false, nil
	return false
}

// watchWorkers reads a tenant's workers every workerWatch while it has
// listeners.
func (s *Server) watchWorkers(tenant string) {
	tick := time.NewTicker(workerWatch)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), workerWatch)
		ws, err := s.Store.ListWorkers(ctx, tenant, "")
		cancel()
		if err == nil {
			s.events.workersSeen(tenant, ws, s.Engine.Now())
		}
		<-tick.C
		if !s.events.keepWatching(tenant) {
			return
		}
	}
}

// publishSync takes a finished sync.
func (b *eventBroker) publishSync(tenantID, sourceID string, st gitsync.Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tens[tenantID] == nil {
		return
	}
	b.add(tenantID, liveItem{kind: runbooker.LiveSyncFinished, data: SyncEvent{Source: sourceID, Status: st}})
}

// add appends to a tenant's ring and wakes its listeners; b.mu is held.
func (b *eventBroker) add(tenant string, it liveItem) {
	t := b.tens[tenant]
	t.last++
	it.seq = t.last
	t.ring[(it.seq-1)%eventRingSize] = it
	close(t.wake)
	t.wake = make(chan struct{})
}

// since returns the tenant's events after seq, the channel closed at the
// next event, and whether events after seq were lost (left the ring).
func (b *eventBroker) since(tenant string, seq int64) (items []liveItem, wake <-chan struct{}, lost bool, last int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tenant(tenant)
	if seq > t.last {
		seq, lost = t.last, true // ids from the future: not this ring's
	}
	if t.last-seq > eventRingSize {
		seq, lost = t.last-eventRingSize, true
	}
	for s := seq + 1; s <= t.last; s++ {
		items = append(items, t.ring[(s-1)%eventRingSize])
	}
	return items, t.wake, lost, t.last
}

// eventID is the id a listener sees: this run and the sequence number.
func (b *eventBroker) eventID(seq int64) string { return b.boot + "-" + strconv.FormatInt(seq, 10) }

// resumeSeq reads a Last-Event-ID: the sequence number to resume after, and
// whether it is of this run.
func (b *eventBroker) resumeSeq(id string) (int64, bool) {
	boot, n, ok := strings.Cut(id, "-")
	if !ok || boot != b.boot {
		return 0, false
	}
	seq, err := strconv.ParseInt(n, 10, 64)
	return seq, err == nil && seq >= 0
}

func (s *Server) routeEvents(mux *routeMux) {
	if s.events == nil {
		s.events = newEventBroker()
	}
	s.Engine.SetOnEvent(s.events.publishEngine)
	if s.Syncer != nil {
		s.Syncer.SetFinished(s.events.publishSync)
	}
	mux.HandleFunc("GET /api/v1/events", s.authenticate("", s.handleEvents))
}

// handleEvents streams a tenant's live events to one listener until it
// goes away. The first event of a new stream is the next one to happen;
// Last-Event-ID (header, or lastEventId in the query for clients that
// cannot set headers) resumes after the event it names.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	c := principal(r.Context())
	b := s.events
	if b.listen(c.TenantID) {
		go s.watchWorkers(c.TenantID)
	}
	defer b.unlisten(c.TenantID)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the stream outlives the server's timeouts
	_ = rc.SetReadDeadline(time.Time{})

	resume := r.Header.Get("Last-Event-ID")
	if resume == "" {
		resume = r.URL.Query().Get("lastEventId")
	}
	_, _, _, last := b.since(c.TenantID, 1<<62) // the newest event now
	var reload string
	if resume != "" {
		if seq, ok := b.resumeSeq(resume); !ok {
			reload = "the server restarted since event " + resume
		} else if seq <= last {
			last = seq
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not hold events back
	w.WriteHeader(http.StatusOK)
	if reload != "" {
		s.writeEvent(w, b.eventID(last), "reload", ReloadEvent{Reason: reload})
	} else {
		_, _ = fmt.Fprint(w, ": connected\n\n")
	}
	_ = rc.Flush()

	ping := time.NewTicker(eventPing)
	defer ping.Stop()
	for {
		items, wake, lost, newest := b.since(c.TenantID, last)
		if lost {
			s.writeEvent(w, b.eventID(newest), "reload", ReloadEvent{Reason: "events since " + b.eventID(last) + " are no longer kept"})
			items = nil
		}
		for _, it := range items {
			if data := s.eventFor(r.Context(), c, it); data != nil {
				s.writeEvent(w, b.eventID(it.seq), string(it.kind), data)
			}
		}
		last = newest
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-wake:
		case <-ping.C:
			if !s.sessionLives(r.Context(), c) {
				return // signed out, disabled or expired: the client's reconnect is refused
			}
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// sessionLives reports whether a session listener's session still holds:
// not signed out, not expired, not idle (a stream does not count as
// activity). Credential listeners are checked when they connect only.
func (s *Server) sessionLives(ctx context.Context, c *who) bool {
	if c.Session == nil {
		return true
	}
	sess, err := s.Store.Session(ctx, c.Session.IDHash)
	if err != nil {
		return runbooker.ErrorCode(err) != runbooker.ENOTFOUND // a store hiccup is not a sign-out
	}
	now := s.Engine.Now()
	return now.Before(sess.ExpiresAt) && now.Sub(sess.LastSeenAt) < s.Config.Session.Idle
}

// eventFor is an event's data if the listener may see it, else nil. Jobs:
// those it may read (the job list's right, and the job's runbook and target
// allowed it); workers and syncs: administrators only.
func (s *Server) eventFor(ctx context.Context, c *who, it liveItem) any {
	switch it.kind {
	case runbooker.LiveJobCreated, runbooker.LiveJobStatus:
		if !c.has(access.CanReadRunbookTable) {
			return nil
		}
		j := it.job
		if j == nil {
			var err error
			if j, err = s.Store.Job(ctx, c.TenantID, it.jobID); err != nil {
				return nil
			}
			it.data = JobEvent{ID: j.ID, Runbook: j.RunbookName, Status: j.Status, RunOn: j.RunOn, Caller: j.Caller, Target: j.Target, WorkerID: j.WorkerID}
		}
		if d, err := s.jobVisible(ctx, c, j); err != nil || !d.Allow {
			return nil
		}
		return it.data
	default:
		if !c.has(access.Admin) {
			return nil
		}
		return it.data
	}
}

// writeEvent writes one Server-Sent Event.
func (s *Server) writeEvent(w http.ResponseWriter, id, kind string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		s.Log.Error("live event does not encode", "kind", kind, "err", err)
		return
	}
	_, _ = fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", id, kind, b)
}
