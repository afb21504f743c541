package postgres

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// A commit on PostgreSQL costs a WAL flush, far more than the statement it
// ends. The hottest single-row writes, job creation and finish, therefore
// go through a batcher: calls that arrive while earlier ones are being
// written are written together, in one statement and one commit, and each
// caller still gets its own answer. An uncontended call runs at once, alone.

// batchCall is one caller's operation in a batch.
type batchCall[In, Out any] struct {
	in   In
	out  Out
	err  error
	done chan struct{}
}

// batcher runs calls in batches, at most inFlight batches at a time, each
// of at most maxBatch calls.
type batcher[In, Out any] struct {
	run      func(ctx context.Context, calls []*batchCall[In, Out]) // sets out or err of every call
	inFlight int
	maxBatch int

	mu      sync.Mutex
	queue   []*batchCall[In, Out]
	running int
}

// batchTimeout bounds one batch; the statement timeout usually ends it first.
const batchTimeout = time.Minute

// do runs in as part of a batch and returns its outcome. A caller whose ctx
// ends before its batch started gets ctx's error and nothing was written;
// once started, the batch's outcome is the answer.
func (b *batcher[In, Out]) do(ctx context.Context, in In) (Out, error) {
	c := &batchCall[In, Out]{in: in, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	lead := b.running < b.inFlight
	if lead {
		b.running++
	}
	b.mu.Unlock()
	if lead {
		b.lead(c)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		if b.remove(c) {
			var zero Out
			return zero, ctx.Err()
		}
		<-c.done
	}
	return c.out, c.err
}

// lead runs batches until own's is done, then hands the slot on to a new
// goroutine while calls are queued, so no caller serves others for long.
// A handed-on leader (own nil) serves one batch per turn.
func (b *batcher[In, Out]) lead(own *batchCall[In, Out]) {
	served := false
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		if served {
			b.mu.Unlock()
			go b.lead(nil)
			return
		}
		if len(b.queue) == 1 && !served && b.running > 1 {
			// Another batch is being written: calls arriving with this
			// one (creations of concurrent requests) are likely on their
			// way. Let them join rather than commit alone. (A batcher
			// with one batch in flight, as finishes have, never gets
			// here: its calls wait behind the batch and go together.)
			b.mu.Unlock()
			runtime.Gosched()
			b.mu.Lock()
			if len(b.queue) == 0 {
				b.running--
				b.mu.Unlock()
				return
			}
		}
		n := min(len(b.queue), b.maxBatch)
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		b.run(ctx, batch)
		cancel()
		for _, c := range batch {
			close(c.done)
			served = served || c == own
		}
		served = served || own == nil
	}
}

// remove takes c out of the queue, reporting whether it was still there.
func (b *batcher[In, Out]) remove(c *batchCall[In, Out]) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, q := range b.queue {
		if q == c {
			b.queue = append(b.queue[:i:i], b.queue[i+1:]...)
			return true
		}
	}
	return false
}
