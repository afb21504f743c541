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
	mu   sync.Mutex
	busy bool          // the stdout reader holds data it has not handed on
	sent chan struct{} // closed when the stdout reader next finishes a cycle
	poke chan struct{} // cuts the stdout reader's pause short
	// unread returns the bytes waiting in the stdout pipe, or 0 when that
	// is unknown.
	unread func() int
}

// gateWait bounds how long stderr waits for stdout, so that a stdout pipe
// that never empties cannot hold errors back.
const gateWait = 5 * time.Millisecond

func newGate(unread func() int) *gate {
	return &gate{sent: make(chan struct{}), poke: make(chan struct{}, 1), unread: unread}
}

// read marks that the stdout reader got data.
func (g *gate) read() {
	g.mu.Lock()
	g.busy = true
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
	var deadline <-chan time.Time
	for range 3 {
		g.mu.Lock()
		busy, sent := g.busy, g.sent
		g.mu.Unlock()
		if !busy {
			if g.unread() <= 0 {
				return
			}
			select {
			case g.poke <- struct{}{}:
			default:
			}
		}
		if deadline == nil {
			t := time.NewTimer(gateWait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-sent:
		case <-deadline:
			return
		}
	}
}
