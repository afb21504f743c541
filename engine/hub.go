package engine

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
)

// Hub carries in-process wake-ups: "a job was queued for group G" (claimers
// waiting on a long poll), "job J ended" (synchronous runs waiting) and
// "stop job J" (the in-process agent running it). Waiters subscribe before
// they look at the store, so a notification between the look and the wait is
// never missed.
type Hub struct {
	mu     sync.Mutex
	groups map[string][]*Waiter
	hints  map[string]map[hintKey]*queueHint // group → (tenant, languages) → hint
	done   map[string]*doneWait
	stops  map[string]func()
	recent recentOutcomes // jobs that ended in this process lately
	handed lastAdded[runbooker.JobRef, handedAttempt]
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{groups: map[string][]*Waiter{}, hints: map[string]map[hintKey]*queueHint{}, done: map[string]*doneWait{}, stops: map[string]func(){}}
}

// Waiter is a claimer parked on a long poll. It receives nil ("look in
// the store again") or, once armed, a job handed to it directly.
type Waiter struct {
	C        chan *runbooker.Job
	tenantID string // "" takes jobs of any tenant
	workerID string
	langs    []runbooker.Language // nil: runs any language
	armed    bool
	listed   bool
	early    bool // takes jobs before their creation commits (ClaimRequest.Early)
}

// Register parks a claimer of group. cancel unregisters it and reports
// whether it was still listed; when it was not, a sender took it and will
// send exactly once on C.
func (h *Hub) Register(group, tenantID, workerID string) (*Waiter, func() bool) {
	return h.RegisterFor(group, tenantID, workerID, nil)
}

// RegisterFor is Register for a claimer that runs only jobs of langs (nil:
// any). It is handed only such jobs directly, and while it waits every
// queued job of the group wakes all the group's claimers, as the job may be
// one it cannot run.
func (h *Hub) RegisterFor(group, tenantID, workerID string, langs []runbooker.Language) (*Waiter, func() bool) {
	return h.register(group, tenantID, workerID, langs, false)
}

// register is RegisterFor; early marks a claimer that may be handed a job
// whose creation is still committing (ClaimRequest.Early).
func (h *Hub) register(group, tenantID, workerID string, langs []runbooker.Language, early bool) (*Waiter, func() bool) {
	w := &Waiter{C: make(chan *runbooker.Job, 1), tenantID: tenantID, workerID: workerID, langs: langs, listed: true, early: early}
	h.mu.Lock()
	h.groups[group] = append(h.groups[group], w)
	h.mu.Unlock()
	return w, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		if !w.listed {
			return false
		}
		w.listed = false
		ws := h.groups[group]
		for i, x := range ws {
			if x == w {
				h.groups[group] = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
		if len(h.groups[group]) == 0 {
			delete(h.groups, group)
		}
		return true
	}
}

// runs reports whether the waiter's worker runs jobs of lang.
func (w *Waiter) runs(lang runbooker.Language) bool {
	if w.langs == nil {
		return true
	}
	for _, l := range w.langs {
		if l == lang {
			return true
		}
	}
	return false
}

// Arm marks a registered waiter as ready to be handed a job directly: its
// claim found the store empty and it now only waits.
func (h *Hub) Arm(w *Waiter) {
	h.mu.Lock()
	w.armed = true
	h.mu.Unlock()
}

// TakeWaiter unlists and returns the newest armed waiter of group that
// accepts jobs of tenantID, or nil. The caller must send on its C once.
func (h *Hub) TakeWaiter(group, tenantID string) *Waiter {
	return h.TakeWaiterFor(group, tenantID, "")
}

// TakeWaiterFor is TakeWaiter for a job of lang: it takes only a waiter
// that runs that language ("" : any waiter).
func (h *Hub) TakeWaiterFor(group, tenantID string, lang runbooker.Language) *Waiter {
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.groups[group]
	for i := len(ws) - 1; i >= 0; i-- {
		w := ws[i]
		if w.armed && (w.tenantID == "" || w.tenantID == tenantID) && (lang == "" || w.runs(lang)) {
			w.listed = false
			h.groups[group] = append(ws[:i:i], ws[i+1:]...)
			if len(h.groups[group]) == 0 {
				delete(h.groups, group)
			}
			return w
		}
	}
	return nil
}

// TakeWaiterProbe reports whether TakeWaiter would find an armed waiter,
// without taking it (tests wait on it).
func (h *Hub) TakeWaiterProbe(group, tenantID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.groups[group] {
		if w.armed && (w.tenantID == "" || w.tenantID == tenantID) {
			return true
		}
	}
	return false
}

// queueHint says whether a group may have queued jobs a claim would find.
// gen changes whenever jobs are queued, so "found none" can be recorded
// only when nothing was queued while the claim ran.
type queueHint struct {
	gen   uint64
	empty bool
}

// hintKey names whose view of a group's queue a hint is: claims of one
// tenant ("" = any) limited to some languages ("" = any; else the sorted
// list) find the queue empty independently of claims of other languages.
type hintKey struct {
	tenant string
	langs  string
}

func keyOf(tenantID string, langs []runbooker.Language) hintKey {
	if langs == nil {
		return hintKey{tenant: tenantID}
	}
	ls := make([]string, len(langs))
	for i, l := range langs {
		ls[i] = string(l)
	}
	sort.Strings(ls)
	return hintKey{tenant: tenantID, langs: "[" + strings.Join(ls, ",") + "]"}
}

// QueueHint returns the hint of (group, tenant) for claims limited to
// langs (nil: any): empty is true only when such a claim found no job it
// could take and nothing was queued since. A claimer may then park without
// asking the store; an unknown group is never empty.
func (h *Hub) QueueHint(group, tenantID string, langs []runbooker.Language) (gen uint64, empty bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	// The hint is made on first use, so that jobs queued while this claim
	// runs move its gen on, and the claim's "found none" is not recorded.
	x := h.hint(group, keyOf(tenantID, langs))
	return x.gen, x.empty
}

// hint returns the hint of group and k, made (not empty) when missing.
// Callers hold h.mu.
func (h *Hub) hint(group string, k hintKey) *queueHint {
	m := h.hints[group]
	if m == nil {
		m = map[hintKey]*queueHint{}
		h.hints[group] = m
	}
	x := m[k]
	if x == nil {
		x = &queueHint{}
		m[k] = x
	}
	return x
}

// QueueEmpty records that a claim of (group, tenant) limited to langs
// (nil: any) that started at gen found no job it could take.
func (h *Hub) QueueEmpty(group, tenantID string, langs []runbooker.Language, gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if x := h.hint(group, keyOf(tenantID, langs)); x.gen == gen {
		x.empty = true
	}
}

// markQueued clears the empty hints that jobs of tenant in group may
// invalidate: the tenant's own and the any-tenant one; every tenant's when
// the tenant is unknown (""). Callers hold h.mu.
func (h *Hub) markQueued(group, tenantID string) {
	for k, x := range h.hints[group] {
		if tenantID == "" || k.tenant == "" || k.tenant == tenantID {
			x.gen++
			x.empty = false
		}
	}
}

// JobQueued records that jobs of tenantID ("" when unknown) were queued in
// group and wakes up to n claimers waiting on it (n < 0: all of them),
// newest first: the claimer that polled last is the one most surely alive
// (a frozen or partitioned worker's poll lingers at the old end). Waiters
// are woken one per queued job, so a thousand idle workers do not all rush
// the database for one job.
func (h *Hub) JobQueued(group, tenantID string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.markQueued(group, tenantID)
	ws := h.groups[group]
	for _, w := range ws {
		if w.langs != nil {
			n = -1 // the job may be one only some of them can run
			break
		}
	}
	if n < 0 || n > len(ws) {
		n = len(ws)
	}
	for _, w := range ws[len(ws)-n:] {
		w.listed = false
		w.C <- nil // buffered and fresh: never blocks
	}
	if n == len(ws) {
		delete(h.groups, group)
	} else {
		h.groups[group] = ws[:len(ws)-n]
	}
}

// DoneSignal returns a channel closed when JobDone(id) is called, a func
// that then returns the job as JobDone passed it (nil when it passed none),
// and a release func the waiter must call when it stops waiting.
func (h *Hub) DoneSignal(id string) (<-chan struct{}, func() Outcome, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.done[id]
	if !ok {
		w = &doneWait{ch: make(chan struct{})}
		h.done[id] = w
	}
	w.refs++
	return w.ch, func() Outcome { return w.out }, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		w.refs--
		if w.refs == 0 && h.done[id] == w {
			delete(h.done, id)
		}
	}
}

// Subscribed returns how many jobs have waiters subscribed to their end.
func (h *Hub) Subscribed() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.done)
}

type doneWait struct {
	ch   chan struct{}
	refs int
	out  Outcome // set before ch is closed; read only after
}

// Outcome is what a finisher in this process hands to the waiters of a
// job: the job as stored and, when the finish call carried the job's whole
// output (Records complete), its records, so that a synchronous run need
// not read them back.
type Outcome struct {
	Job      *runbooker.Job
	Records  []runbooker.StreamRecord
	Complete bool
}

// JobDone wakes everyone waiting for job id to end, handing them out (its
// Job may be nil: they then read the job from the store). An outcome with a
// terminal job is also remembered for a while (Recent).
func (h *Hub) JobDone(id string, out Outcome) {
	h.mu.Lock()
	w, ok := h.done[id]
	if ok {
		delete(h.done, id)
	}
	if out.Job != nil && out.Job.Status.Terminal() {
		h.recent.add(id, out, time.Now())
	}
	h.mu.Unlock()
	if ok {
		w.out = out
		close(w.ch)
	}
}

// OnStop registers the function that kills job id's process in this
// process; the returned func unregisters it.
func (h *Hub) OnStop(id string, kill func()) (unregister func()) {
	h.mu.Lock()
	h.stops[id] = kill
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.stops, id)
		h.mu.Unlock()
	}
}

// StopJob calls the kill function of job id if it runs in this process.
func (h *Hub) StopJob(id string) bool {
	h.mu.Lock()
	kill, ok := h.stops[id]
	h.mu.Unlock()
	if ok {
		kill()
	}
	return ok
}

// Recent returns the outcome of job id if it ended in this process within
// recentFor: a terminal job never changes again (only the retention purge,
// days later, deletes it), so a waiter that comes late need not read it
// back from the store.
func (h *Hub) Recent(id string) (Outcome, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.recent.get(id, time.Now())
}

// handedAttempt is who an attempt was handed to, and when its job was
// created.
type handedAttempt struct {
	worker, tenant string
	created        time.Time
}

// handedCap bounds the attempts Handed remembers.
const handedCap = 4096

// Hand records that this server handed attempt ref of job j to a worker
// (the job's WorkerID).
func (h *Hub) Hand(j *runbooker.Job) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handed.put(handedCap, runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, handedAttempt{j.WorkerID, j.TenantID, j.CreatedAt})
}

// Handed reports whom this server handed attempt ref to lately. An
// attempt is claimed once, by one worker, so the answer stays true.
func (h *Hub) Handed(ref runbooker.JobRef) (worker, tenant string, created time.Time, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.handed.get(ref)
	return a.worker, a.tenant, a.created, ok
}

// recentOutcomes remembers the last recentCap outcomes, each for recentFor.
// Records are kept only when small: a late waiter of a big output reads it
// from the store page by page.
type recentOutcomes struct {
	m lastAdded[string, recentOutcome]
}

type recentOutcome struct {
	out Outcome
	at  time.Time
}

const (
	recentCap         = 4096
	recentFor         = time.Minute
	recentRecordBytes = 16 << 10
)

func (r *recentOutcomes) add(id string, out Outcome, now time.Time) {
	if out.Complete {
		n := 0
		for _, rec := range out.Records {
			n += len(rec.Text) + len(rec.Value)
		}
		if n > recentRecordBytes {
			out.Records, out.Complete = nil, false
		}
	}
	r.m.put(recentCap, id, recentOutcome{out, now})
}

func (r *recentOutcomes) get(id string, now time.Time) (Outcome, bool) {
	e, ok := r.m.get(id)
	if !ok || now.Sub(e.at) > recentFor {
		return Outcome{}, false
	}
	return e.out, true
}

// lastAdded keeps the values of the last keys put, at most as many as the
// capacity of its first put: a new key past that forgets the oldest. The
// zero key is never kept. Not safe for concurrent use.
type lastAdded[K comparable, V any] struct {
	m    map[K]V
	ring []K // keys, oldest at next
	next int
}

func (l *lastAdded[K, V]) put(capacity int, k K, v V) {
	var zero K
	if k == zero {
		return
	}
	if l.m == nil {
		l.m, l.ring = make(map[K]V), make([]K, capacity)
	}
	if _, ok := l.m[k]; !ok {
		if old := l.ring[l.next]; old != zero {
			delete(l.m, old)
		}
		l.ring[l.next] = k
		l.next = (l.next + 1) % len(l.ring)
	}
	l.m[k] = v
}

func (l *lastAdded[K, V]) get(k K) (V, bool) {
	v, ok := l.m[k]
	return v, ok
}
