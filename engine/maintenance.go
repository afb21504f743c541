package engine

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
)

// Maintenance runs the lease rescuer and the retention purge in the
// background. Both are single store statements, safe on every replica.
type Maintenance struct {
	e      *Engine
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewMaintenance returns the maintenance service of e.
func NewMaintenance(e *Engine) *Maintenance { return &Maintenance{e: e} }

// Start launches the loops.
func (m *Maintenance) Start(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(2)
	go m.loop(ctx, m.e.cfg.LeaseTTL/3, func(ctx context.Context) { _, _ = m.Rescue(ctx) })
	go m.loop(ctx, time.Hour, func(ctx context.Context) { _, _ = m.Purge(ctx) })
}

// Stop ends the loops and waits for them.
func (m *Maintenance) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
}

func (m *Maintenance) loop(ctx context.Context, every time.Duration, f func(context.Context)) {
	defer m.wg.Done()
	f(ctx)
	for {
		// Jitter keeps replicas sharing one database from running in lockstep.
		d := every/2 + time.Duration(rand.Int64N(int64(every)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
			f(ctx)
		}
	}
}

// Rescue runs one rescuer pass and wakes claimers and waiters of the jobs it moved.
func (m *Maintenance) Rescue(ctx context.Context) ([]runbooker.RescuedJob, error) {
	e := m.e
	moved, err := e.store.RescueJobs(ctx, runbooker.RescueParams{Now: e.now(), MaxAttempts: e.cfg.MaxAttempts})
	if err != nil {
		e.log.Warn("lease rescue failed", "err", err)
		return nil, err
	}
	for _, r := range moved {
		e.log.Warn("job lease expired", "job", r.ID, "tenant", r.TenantID, "from", r.From, "to", r.To)
		switch {
		case r.To == runbooker.StatusNew:
			e.hub.JobQueued(r.RunOn)
		case r.To.Terminal():
			e.hub.JobDone(r.ID)
		}
	}
	return moved, nil
}

// Purge deletes terminal jobs past the retention period.
func (m *Maintenance) Purge(ctx context.Context) (int, error) {
	e := m.e
	n, err := e.store.PurgeJobs(ctx, e.now().Add(-e.cfg.Retention))
	if err != nil {
		e.log.Warn("retention purge failed", "err", err)
		return 0, err
	}
	if n > 0 {
		e.log.Info("purged old jobs", "count", n, "retention", e.cfg.Retention)
	}
	return n, nil
}
