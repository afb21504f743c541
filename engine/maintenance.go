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
	m.wg.Add(4)
	// The first rescue waits one lease period: after this server was down,
	// workers need a heartbeat's time to renew leases that expired meanwhile
	// before their jobs are taken from them.
	go m.loop(ctx, m.e.cfg.LeaseTTL, m.e.cfg.LeaseTTL/3, func(ctx context.Context) { _, _ = m.Rescue(ctx) })
	go m.loop(ctx, 0, time.Hour, func(ctx context.Context) { _, _ = m.Purge(ctx) })
	go m.loop(ctx, 0, time.Minute, func(ctx context.Context) { _, _ = m.SuspendStarved(ctx) })
	go m.loop(ctx, 0, m.e.cfg.ScheduleEvery, func(ctx context.Context) { _, _ = m.e.FireSchedules(ctx) })
}

// Stop ends the loops and waits for them.
func (m *Maintenance) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
}

func (m *Maintenance) loop(ctx context.Context, first, every time.Duration, f func(context.Context)) {
	defer m.wg.Done()
	select {
	case <-ctx.Done():
		return
	case <-time.After(first):
	}
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
	moved, err := e.store.RescueJobs(ctx, runbooker.RescueParams{Now: e.Now(), MaxAttempts: e.cfg.MaxAttempts})
	if err != nil {
		e.storeFailed("rescue", err)
		e.log.Warn("lease rescue failed", "err", err)
		return nil, err
	}
	for _, r := range moved {
		e.log.Warn("job lease expired", "job", r.ID, "tenant", r.TenantID, "from", r.From, "to", r.To)
		switch {
		case r.To == runbooker.StatusNew:
			e.queued(r.RunOn, r.TenantID, 1)
		case r.To.Terminal():
			e.done(r.ID, Outcome{})
		}
		e.emit(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, TenantID: r.TenantID, JobID: r.ID, Status: r.To, Group: r.RunOn})
	}
	return moved, nil
}

// Purge deletes terminal jobs past the retention period.
func (m *Maintenance) Purge(ctx context.Context) (int, error) {
	e := m.e
	n, err := e.store.PurgeJobs(ctx, e.Now().Add(-e.cfg.Retention))
	if err != nil {
		e.storeFailed("purge", err)
		e.log.Warn("retention purge failed", "err", err)
		return 0, err
	}
	if n > 0 {
		e.log.Info("purged old jobs", "count", n, "retention", e.cfg.Retention)
	}
	return n, nil
}

// DefaultSuspendAfter is how long a job waits for a live worker of its group
// before it is Suspended, as on Azure Automation.
const DefaultSuspendAfter = 30 * time.Minute

// SuspendStarved parks jobs queued for groups that have had no live worker
// for their group's SuspendAfter (default 30 minutes).
func (m *Maintenance) SuspendStarved(ctx context.Context) (int, error) {
	e := m.e
	tenants, err := e.store.Tenants(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tenants {
		groups, err := e.store.ListGroups(ctx, t.ID)
		if err != nil {
			return total, err
		}
		for _, g := range groups {
			live, reason := e.GroupStatus(ctx, t.ID, g.Name)
			if live {
				continue
			}
			after := g.SuspendAfter
			if after <= 0 {
				after = DefaultSuspendAfter
			}
			now := e.Now()
			ids, err := e.store.SuspendWaiting(ctx, runbooker.SuspendParams{TenantID: t.ID, Group: g.Name,
				QueuedBefore: now.Add(-after), Reason: reason + "; suspended after waiting " + after.String(), Now: now})
			if err != nil {
				return total, e.storeFailed("suspend", err)
			}
			for _, id := range ids {
				e.done(id, Outcome{}) // synchronous runs waiting on it stop waiting
				e.emit(runbooker.LiveEvent{Kind: runbooker.LiveJobStatus, TenantID: t.ID, JobID: id, Status: runbooker.StatusSuspended, Group: g.Name})
			}
			total += len(ids)
		}
	}
	return total, nil
}
