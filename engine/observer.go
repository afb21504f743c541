package engine

import (
	"context"
	"errors"

	"github.com/runbooker/runbooker"
)

// Observer is told what the engine does, for metrics (package metrics).
// Its methods are called on the engine's paths and must not block.
type Observer interface {
	// Event is told of every live event, as SetOnEvent's function is.
	Event(ev runbooker.LiveEvent)
	// StreamsStored is told of the stream records an attempt handed in and
	// the store accepted (a retried batch is counted again), and of their
	// text and value bytes.
	StreamsStored(records int, bytes int64)
	// StoreError is told of a store call that failed for a reason other
	// than the caller's (EINTERNAL, EUNAVAILABLE): op is one of a fixed set
	// of names ("create", "claim", "start", "heartbeat", "append", "finish",
	// "stop", "resume", "rescue", "purge", "suspend").
	StoreError(op string)
}

// SetObserver has the engine report to o, beside SetOnEvent's function.
// Call before the engine serves anything.
func (e *Engine) SetObserver(o Observer) { e.observer.Store(&o) }

func (e *Engine) observe() Observer {
	if o := e.observer.Load(); o != nil {
		return *o
	}
	return nil
}

// storeFailed reports err, when it is a failure of the store itself, to the
// observer, and returns it unchanged.
func (e *Engine) storeFailed(op string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if code := runbooker.ErrorCode(err); code != runbooker.EINTERNAL && code != runbooker.EUNAVAILABLE {
		return err
	}
	if o := e.observe(); o != nil {
		o.StoreError(op)
	}
	return err
}

// streamsStored reports records the store took to the observer.
func (e *Engine) streamsStored(recs []runbooker.StreamRecord) {
	o := e.observe()
	if o == nil || len(recs) == 0 {
		return
	}
	var n int64
	for _, r := range recs {
		n += int64(len(r.Text) + len(r.Value))
	}
	o.StreamsStored(len(recs), n)
}

// QueueStats returns the queue depth and oldest queued job of every worker
// group name, all tenants together (Store.QueueStats): metrics read it at
// every scrape.
func (e *Engine) QueueStats(ctx context.Context) ([]runbooker.QueueStat, error) {
	return e.store.QueueStats(ctx)
}

// OnlineWorkers counts, per worker group name across all tenants, the
// registered workers that are online and neither draining nor stopped (the
// workers GroupStatus calls live). The built-in group's agent is not a
// registered worker and is not counted. One store read per tenant.
func (e *Engine) OnlineWorkers(ctx context.Context) (map[string]int, error) {
	tenants, err := e.store.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	out := map[string]int{}
	for _, t := range tenants {
		ws, err := e.store.ListWorkers(ctx, t.ID, "")
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			if w.State != runbooker.WorkerStopped && w.State != runbooker.WorkerDraining && w.Online(now) {
				out[w.Group]++
			}
		}
	}
	return out, nil
}
