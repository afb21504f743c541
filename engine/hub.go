package engine

import "sync"

// Hub carries in-process wake-ups: "a job was queued for group G" (claimers
// waiting on a long poll), "job J ended" (synchronous runs waiting) and
// "stop job J" (the in-process agent running it). Waiters subscribe before
// they look at the store, so a notification between the look and the wait is
// never missed.
type Hub struct {
	mu     sync.Mutex
	groups map[string][]chan struct{}
	done   map[string]*doneWait
	stops  map[string]func()
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{groups: map[string][]chan struct{}{}, done: map[string]*doneWait{}, stops: map[string]func(){}}
}

// GroupSignal registers a claimer waiting for group's jobs. The channel
// receives when JobQueued picks this waiter; cancel unregisters it. Waiters
// are woken one per queued job, so a thousand idle workers do not all rush
// the database for one job.
func (h *Hub) GroupSignal(group string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.groups[group] = append(h.groups[group], ch)
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		ws := h.groups[group]
		for i, w := range ws {
			if w == ch {
				h.groups[group] = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
		if len(h.groups[group]) == 0 {
			delete(h.groups, group)
		}
	}
}

// JobQueued wakes up to n claimers waiting on group (n < 0: all of them),
// newest first: the claimer that polled last is the one most surely alive
// (a frozen or partitioned worker's poll lingers at the old end).
func (h *Hub) JobQueued(group string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.groups[group]
	if n < 0 || n > len(ws) {
		n = len(ws)
	}
	for _, w := range ws[len(ws)-n:] {
		w <- struct{}{} // buffered and fresh: never blocks
	}
	if n == len(ws) {
		delete(h.groups, group)
	} else {
		h.groups[group] = ws[:len(ws)-n]
	}
}

// DoneSignal returns a channel closed when JobDone(id) is called, and a
// release func the waiter must call when it stops waiting.
func (h *Hub) DoneSignal(id string) (<-chan struct{}, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.done[id]
	if !ok {
		w = &doneWait{ch: make(chan struct{})}
		h.done[id] = w
	}
	w.refs++
	return w.ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		w.refs--
		if w.refs == 0 && h.done[id] == w {
			delete(h.done, id)
		}
	}
}

type doneWait struct {
	ch   chan struct{}
	refs int
}

// JobDone wakes everyone waiting for job id to end.
func (h *Hub) JobDone(id string) {
	h.mu.Lock()
	w, ok := h.done[id]
	if ok {
		delete(h.done, id)
	}
	h.mu.Unlock()
	if ok {
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
