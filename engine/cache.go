package engine

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
)

// cacheTTL bounds how late this process sees a runbook or worker group
// changed by another replica; changes made through this process's store are
// seen at once. Ages are measured on the wall clock, not the engine's Clock:
// the bound is a promise in real time, and a test clock that stands still
// must not freeze the cache.
const cacheTTL = 2 * time.Second

// cachingStore is the store as the engine hands it out: every method passes
// through, but writes of runbooks, worker groups, workers, credentials and
// settings drop the engine's cached copies, which serve the lookups each
// job creation, API request and hybrid worker call makes.
type cachingStore struct {
	runbooker.Store
	mu       sync.Mutex
	runbooks map[[2]string]cached[*runbooker.Runbook]
	groups   map[[2]string]cached[*runbooker.WorkerGroup]
	contents map[[2]string][]byte // by tenant and version
	size     int                  // bytes in contents
	creds    map[string]cached[*runbooker.Credential]
	workers  map[string]cached[*runbooker.Worker]
	settings map[[2]string]cached[map[string][]byte] // by tenant and joined keys
}

// contentCacheBytes bounds the cached runbook sources.
const contentCacheBytes = 32 << 20

// RunbookContent returns a runbook version's source, cached: versions are
// content addresses, so a cached source never goes stale. Every dispatch
// to a worker needs its job's source; the cache keeps a store read off
// that path. The bytes are shared: callers must not modify them.
func (c *cachingStore) RunbookContent(ctx context.Context, tenantID, version string) ([]byte, error) {
	k := [2]string{tenantID, version}
	c.mu.Lock()
	b, ok := c.contents[k]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := c.Store.RunbookContent(ctx, tenantID, version)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.contents == nil || c.size+len(b) > contentCacheBytes {
		c.contents, c.size = map[[2]string][]byte{}, 0 // crude but bounded: start over
	}
	if _, ok := c.contents[k]; !ok {
		c.contents[k], c.size = b, c.size+len(b)
	}
	c.mu.Unlock()
	return b, nil
}

type cached[T any] struct {
	v  T
	at time.Time
}

func newCachingStore(s runbooker.Store) *cachingStore {
	return &cachingStore{Store: s, runbooks: map[[2]string]cached[*runbooker.Runbook]{},
		groups: map[[2]string]cached[*runbooker.WorkerGroup]{}, creds: map[string]cached[*runbooker.Credential]{},
		workers:  map[string]cached[*runbooker.Worker]{},
		settings: map[[2]string]cached[map[string][]byte]{}}
}

// runbook returns the runbook from the cache when fresh. The value is
// shared: callers must not modify it.
func (c *cachingStore) runbook(ctx context.Context, tenantID, name string) (*runbooker.Runbook, error) {
	return lookup(c, c.runbooks, [2]string{tenantID, name}, func() (*runbooker.Runbook, error) {
		return c.Store.Runbook(ctx, tenantID, name)
	})
}

// lookup returns m[k] when fresh, else what fetch reads, cached when it
// succeeded (a failure is not cached). m is one of c's maps, under c.mu.
func lookup[K comparable, V any](c *cachingStore, m map[K]cached[V], k K, fetch func() (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := m[k]
	c.mu.Unlock()
	if ok && time.Since(e.at) < cacheTTL {
		return e.v, nil
	}
	t0 := time.Now()
	v, err := fetch()
	if err != nil {
		var zero V
		return zero, err
	}
	c.mu.Lock()
	if len(m) > 10000 {
		clear(m)
	}
	m[k] = cached[V]{v, t0}
	c.mu.Unlock()
	return v, nil
}

// group returns the worker group from the cache when fresh (shared value).
// That a group does not exist is cached too: the built-in group has no row
// until it gets settings, and every claim of its jobs asks.
func (c *cachingStore) group(ctx context.Context, tenantID, name string) (*runbooker.WorkerGroup, error) {
	k := [2]string{tenantID, name}
	c.mu.Lock()
	e, ok := c.groups[k]
	c.mu.Unlock()
	if ok && time.Since(e.at) < cacheTTL {
		if e.v == nil {
			return nil, runbooker.Errorf(runbooker.ENOTFOUND, "worker group %q not found", name)
		}
		return e.v, nil
	}
	t0 := time.Now()
	g, err := c.Store.Group(ctx, tenantID, name)
	if err != nil && runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		return nil, err
	}
	c.mu.Lock()
	if len(c.groups) > 10000 {
		clear(c.groups)
	}
	c.groups[k] = cached[*runbooker.WorkerGroup]{g, t0}
	c.mu.Unlock()
	return g, err
}

func (c *cachingStore) forgetRunbook(tenantID, name string) {
	c.mu.Lock()
	delete(c.runbooks, [2]string{tenantID, name})
	c.mu.Unlock()
}

func (c *cachingStore) forgetGroup(tenantID, name string) {
	c.mu.Lock()
	delete(c.groups, [2]string{tenantID, name})
	c.mu.Unlock()
}

// PutRunbook implements runbooker.RunbookStore and drops the cached copy.
func (c *cachingStore) PutRunbook(ctx context.Context, rb *runbooker.Runbook, content []byte) (runbooker.PutRunbookResult, error) {
	defer c.forgetRunbook(rb.TenantID, rb.Name)
	return c.Store.PutRunbook(ctx, rb, content)
}

// DeleteRunbook implements runbooker.RunbookStore and drops the cached copy.
func (c *cachingStore) DeleteRunbook(ctx context.Context, tenantID, name string) error {
	defer c.forgetRunbook(tenantID, name)
	return c.Store.DeleteRunbook(ctx, tenantID, name)
}

// CreateGroup implements runbooker.WorkerStore and drops a cached absence.
func (c *cachingStore) CreateGroup(ctx context.Context, g *runbooker.WorkerGroup) error {
	defer c.forgetGroup(g.TenantID, g.Name)
	return c.Store.CreateGroup(ctx, g)
}

// UpdateGroup implements runbooker.WorkerStore and drops the cached copy.
func (c *cachingStore) UpdateGroup(ctx context.Context, g *runbooker.WorkerGroup) error {
	defer c.forgetGroup(g.TenantID, g.Name)
	return c.Store.UpdateGroup(ctx, g)
}

// UseGroupToken implements runbooker.WorkerStore and drops the cached copy
// (its count of uses changed).
func (c *cachingStore) UseGroupToken(ctx context.Context, tokenHash string, now time.Time) (*runbooker.WorkerGroup, error) {
	g, err := c.Store.UseGroupToken(ctx, tokenHash, now)
	if g != nil {
		c.forgetGroup(g.TenantID, g.Name)
	}
	return g, err
}

// DeleteGroup implements runbooker.WorkerStore and drops the cached copy.
func (c *cachingStore) DeleteGroup(ctx context.Context, tenantID, name string) error {
	defer c.forgetGroup(tenantID, name)
	return c.Store.DeleteGroup(ctx, tenantID, name)
}

// Credential implements runbooker.CredentialStore from the cache when
// fresh: every API request looks its credential up. A credential deleted
// through this process is forgotten at once; one deleted through another
// replica stops working within cacheTTL. The value is shared: callers must
// not modify it.
func (c *cachingStore) Credential(ctx context.Context, id string) (*runbooker.Credential, error) {
	return lookup(c, c.creds, id, func() (*runbooker.Credential, error) { return c.Store.Credential(ctx, id) })
}

// DeleteCredential implements runbooker.CredentialStore and drops the
// cached copy.
func (c *cachingStore) DeleteCredential(ctx context.Context, tenantID, id string) error {
	defer c.forgetCredentials(id)
	return c.Store.DeleteCredential(ctx, tenantID, id)
}

// DeleteUser implements runbooker.UserStore and drops every cached
// credential: the user's bound credentials may go with them.
func (c *cachingStore) DeleteUser(ctx context.Context, tenantID, upn string) error {
	defer c.forgetCredentials()
	return c.Store.DeleteUser(ctx, tenantID, upn)
}

// forgetCredentials drops the cached credentials ids, or all of them.
func (c *cachingStore) forgetCredentials(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(ids) == 0 {
		clear(c.creds)
	}
	for _, id := range ids {
		delete(c.creds, id)
	}
}

// Worker implements runbooker.WorkerStore from the cache when fresh: a
// hybrid worker's every call authenticates with it, a read per job when
// the worker is busy. A write of the worker through this process (seen,
// report, delete) forgets it at once; a worker deleted through another
// replica stops working within cacheTTL, as an API credential does. The
// value is shared: callers must not modify it.
func (c *cachingStore) Worker(ctx context.Context, id string) (*runbooker.Worker, error) {
	return lookup(c, c.workers, id, func() (*runbooker.Worker, error) { return c.Store.Worker(ctx, id) })
}

func (c *cachingStore) forgetWorker(id string) {
	c.mu.Lock()
	delete(c.workers, id)
	c.mu.Unlock()
}

// TouchWorker implements runbooker.WorkerStore and drops the cached copy,
// whose last-seen time decides when the next touch is due.
func (c *cachingStore) TouchWorker(ctx context.Context, id string, now time.Time) error {
	defer c.forgetWorker(id)
	return c.Store.TouchWorker(ctx, id, now)
}

// ReportWorker implements runbooker.WorkerStore and drops the cached copy.
func (c *cachingStore) ReportWorker(ctx context.Context, id string, r runbooker.WorkerReport) error {
	defer c.forgetWorker(id)
	return c.Store.ReportWorker(ctx, id, r)
}

// DeleteWorker implements runbooker.WorkerStore and drops the cached copy:
// the worker's credential stops working here at once.
func (c *cachingStore) DeleteWorker(ctx context.Context, tenantID, id string) error {
	defer c.forgetWorker(id)
	return c.Store.DeleteWorker(ctx, tenantID, id)
}

// Settings implements runbooker.SettingStore from the cache when fresh:
// every request reads its tenant's access documents. A document put
// through this process applies to the next request; one put through
// another replica within cacheTTL. The map is shared: callers must not
// modify it.
func (c *cachingStore) Settings(ctx context.Context, tenantID string, keys []string) (map[string][]byte, error) {
	return lookup(c, c.settings, [2]string{tenantID, strings.Join(keys, "\x00")}, func() (map[string][]byte, error) {
		return c.Store.Settings(ctx, tenantID, keys)
	})
}

// PutSetting implements runbooker.SettingStore and drops the tenant's
// cached documents.
func (c *cachingStore) PutSetting(ctx context.Context, tenantID, key string, value []byte) error {
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for k := range c.settings {
			if k[0] == tenantID {
				delete(c.settings, k)
			}
		}
	}()
	return c.Store.PutSetting(ctx, tenantID, key, value)
}
