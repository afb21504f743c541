package engine

import "sync"

// Hub carries in-process wake-ups: "a job was queued for group G" (claimers
// waiting on a long poll), "job J ended" (synchronous runs waiting) and
// "stop job J" (the in-process agent running it). Waiters subscribe before
// they look at the store, so a notification between the look and the wait is
// never missed.
type Hub struct {
	mu     sync.Mutex
	groups map[string]chan struct{}
	done   map[string]*doneWait
	stops  map[string]func()
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{groups: map[string]chan struct{}{}, done: map[string]*doneWait{}, stops: map[string]func(){}}
}

// GroupSignal returns a channel that is closed at the next JobQueued(group).
func (h *Hub) GroupSignal(group string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.groups[group]
	if !ok {
		ch = make(chan struct{})
		h.groups[group] = ch
	}
	return ch
}

// JobQueued wakes every claimer waiting on group.
func (h *Hub) JobQueued(group string) {
	h.mu.Lock()
	ch, ok := h.groups[group]
	if ok {
		delete(h.groups, group)
	}
	h.mu.Unlock()
	if ok {
		close(ch)
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
