package engine

import (
	"context"
	"sync"
	"time"
)

// quotaTTL is how long a tenant's stored-output figure is used before it is
// read again: the sum reads every record of the tenant.
const quotaTTL = 30 * time.Second

// outputQuota caches how much output each tenant has stored, for
// Config.TenantOutputQuota.
type outputQuota struct {
	mu   sync.Mutex
	used map[string]quotaUse
}

type quotaUse struct {
	bytes int64
	at    time.Time
}

// outputLimit returns how many bytes of records a job of tenant may still
// store under its tenant's quota (Config.TenantOutputQuota), or nil when
// there is none. The stored figure is at most quotaTTL old, so jobs that
// run at the same time may together pass the quota by what each of them
// writes (each is still under its worker's per-job cap).
func (e *Engine) outputLimit(ctx context.Context, tenantID string) *int64 {
	quota := e.cfg.TenantOutputQuota
	if quota <= 0 {
		return nil
	}
	q := &e.quota
	now := e.Now()
	q.mu.Lock()
	u, ok := q.used[tenantID]
	q.mu.Unlock()
	if !ok || now.Sub(u.at) >= quotaTTL || now.Before(u.at) {
		n, err := e.store.TenantOutputBytes(ctx, tenantID)
		if err != nil {
			e.log.Warn("reading the tenant's stored output failed; the quota is not applied to this job", "tenant", tenantID, "err", err)
			return nil
		}
		u = quotaUse{bytes: n, at: now}
		q.mu.Lock()
		if q.used == nil {
			q.used = map[string]quotaUse{}
		}
		q.used[tenantID] = u
		q.mu.Unlock()
	}
	left := max(quota-u.bytes, 0)
	return &left
}
