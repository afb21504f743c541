package sandbox

import (
	"sync"
	"time"
)

// gate keeps stdout and stderr records in the order they were written, as
// far as two pipes allow. The stdout reader pauses after small reads (see
// lineReader.pause) while the stderr reader does not, so without the gate an
// error written just after an output line could be numbered before it.
// Before the stderr reader hands on its records, it waits until the stdout
// data written before them has been handed on: whatever the stdout reader
// holds, and whatever still sits in the stdout pipe.
type gate struct {
	mu     sync.Mutex
	inRead bool          // the stdout reader is in (or just returned from) a read
	busy   bool          // the stdout reader holds data it has not handed on
	moved  chan struct{} // closed when the stdout reader next returns from a read
	sent   chan struct{} // closed when the stdout reader next finishes a cycle
	poke   chan struct{} // cuts the stdout reader's pause short
	begun  chan struct{} // closed when the stdout reader first reads
	once   sync.Once
	// unread returns the bytes waiting in the stdout pipe, or 0 when that
	// is unknown.
	unread func() int
}

// gateWait bounds how long stderr waits for stdout, so that a stdout pipe
// that never empties cannot hold errors back. gateIdle is how long it waits
// for a stdout read that may just have returned: a read that returned
// cannot be told from one that blocks until it says so.
const (
	gateWait  = 5 * time.Millisecond
	gateStart = time.Second
	gateIdle  = 200 * time.Microsecond
)

func newGate(unread func() int) *gate {
	return &gate{moved: make(chan struct{}), sent: make(chan struct{}), poke: make(chan struct{}, 1), begun: make(chan struct{}),
		unread: unread}
}

// enter marks that the stdout reader is about to read.
func (g *gate) enter() {
	g.once.Do(func() { close(g.begun) })
	g.mu.Lock()
	g.inRead = true
	g.mu.Unlock()
}

// read marks that the stdout reader's read returned n bytes.
func (g *gate) read(n int) {
	g.mu.Lock()
	g.inRead = false
	g.busy = n > 0
	close(g.moved)
	g.moved = make(chan struct{})
	g.mu.Unlock()
}

// done marks that the stdout reader handed on all it had.
func (g *gate) done() {
	g.mu.Lock()
	g.busy = false
	close(g.sent)
	g.sent = make(chan struct{})
	g.mu.Unlock()
}

// pause sleeps for d unless stderr needs stdout to move on.
func (g *gate) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-g.poke:
	}
}

// wait returns once the stdout data written before now has been handed on,
// or after gateWait.
func (g *gate) wait() {
	// Until the stdout reader has started at all (a goroutine not yet
	// scheduled on a loaded machine), gateWait would measure the scheduler,
	// not the pipe: wait for it first, within gateStart.
	select {
	case <-g.begun:
	default:
		start := time.NewTimer(gateStart)
		select {
		case <-g.begun:
		case <-start.C:
		}
		start.Stop()
	}
	deadline := time.NewTimer(gateWait)
	defer deadline.Stop()
	for range 4 {
		g.mu.Lock()
		inRead, busy, moved, sent := g.inRead, g.busy, g.moved, g.sent
		g.mu.Unlock()
		var next <-chan struct{}
		switch {
		case busy:
			next = sent
		case g.unread() > 0: // the stdout reader will pick it up
			select {
			case g.poke <- struct{}{}:
			default:
			}
			next = moved
		case inRead: // blocked on an empty pipe, or just returned with data
			idle := time.NewTimer(gateIdle)
			select {
			case <-moved:
				idle.Stop()
				continue
			case <-idle.C:
				return
			}
		default:
			return
		}
		select {
		case <-next:
		case <-deadline.C:
			return
		}
	}
}
