package directory

import (
	"container/list"
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Cache bounds.
const (
	// cacheEntries bounds how many answers a cache holds; the least
	// recently used go first.
	cacheEntries = 10000
	// maxNegativeTTL bounds how long "not found" is remembered, so that a
	// user created a moment ago is found soon.
	maxNegativeTTL = 30 * time.Second
)

// cacheKey names one answer.
type cacheKey struct {
	op   byte // 'l' Lookup, 'm' MemberOf
	kind Kind
	key  string // lower-case: names and ids compare case-insensitively
}

// cacheEntry is one remembered answer: an object, a list of group ids or
// a not-found error.
type cacheEntry struct {
	key     cacheKey
	obj     *Object
	ids     []string
	err     error
	expires time.Time
}

// cached remembers the answers of Lookup and MemberOf of the directory
// it wraps. Search is passed through: its answers depend on a query and a
// limit and are looked at by people, who expect them fresh.
type cached struct {
	d      Directory
	ttl    time.Duration
	negTTL time.Duration
	now    func() time.Time
	max    int

	mu    sync.Mutex
	byKey map[cacheKey]*list.Element
	lru   *list.List // front: most recently used
}

// cachedAuthenticator is a cached directory whose wrapped one can also
// authenticate; passwords are always checked by the directory itself.
type cachedAuthenticator struct {
	*cached
	auth Authenticator
}

// Authenticate implements Authenticator without caching.
func (c cachedAuthenticator) Authenticate(ctx context.Context, login, password string) (*Object, error) {
	return c.auth.Authenticate(ctx, login, password)
}

// Cached wraps d so that Lookup and MemberOf answers are kept for ttl
// (ENOTFOUND answers for at most 30 seconds) by the clock now (nil: the
// wall clock). Other errors are not kept. The result is an Authenticator
// exactly when d is one.
func Cached(d Directory, ttl time.Duration, now func() time.Time) Directory {
	return newCached(d, ttl, now, cacheEntries)
}

// newCached is Cached with a chosen bound.
func newCached(d Directory, ttl time.Duration, now func() time.Time, max int) Directory {
	if now == nil {
		now = time.Now
	}
	c := &cached{
		d: d, ttl: ttl, negTTL: min(ttl, maxNegativeTTL), now: now, max: max,
		byKey: map[cacheKey]*list.Element{}, lru: list.New(),
	}
	if a, ok := d.(Authenticator); ok {
		return cachedAuthenticator{cached: c, auth: a}
	}
	return c
}

// AsAuthenticator returns d's Authenticator, if it has one; it sees
// through Cached.
func AsAuthenticator(d Directory) (Authenticator, bool) {
	a, ok := d.(Authenticator)
	return a, ok
}

// Close closes the wrapped directory when it holds connections.
func (c *cached) Close() error {
	if cl, ok := c.d.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// get returns a live entry for k.
func (c *cached) get(k cacheKey) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.lru.Remove(el)
		delete(c.byKey, k)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e, true
}

// put stores e, evicting the least recently used entry when full.
func (c *cached) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[e.key]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	for c.lru.Len() >= c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
	c.byKey[e.key] = c.lru.PushFront(e)
}

// remember stores an answer if it is worth keeping.
func (c *cached) remember(k cacheKey, obj *Object, ids []string, err error) {
	ttl := c.ttl
	switch {
	case err == nil:
	case isNotFound(err):
		ttl = c.negTTL
	default:
		return
	}
	if ttl <= 0 {
		return
	}
	c.put(&cacheEntry{key: k, obj: obj, ids: ids, err: err, expires: c.now().Add(ttl)})
}

// Lookup implements Directory.
func (c *cached) Lookup(ctx context.Context, kind Kind, key string) (*Object, error) {
	k := cacheKey{'l', kind, strings.ToLower(key)}
	if e, ok := c.get(k); ok {
		if e.err != nil {
			return nil, e.err
		}
		o := *e.obj
		return &o, nil
	}
	obj, err := c.d.Lookup(ctx, kind, key)
	var kept *Object
	if err == nil {
		o := *obj
		kept = &o
	}
	c.remember(k, kept, nil, err)
	return obj, err
}

// MemberOf implements Directory.
func (c *cached) MemberOf(ctx context.Context, kind Kind, id string) ([]string, error) {
	k := cacheKey{'m', kind, strings.ToLower(id)}
	if e, ok := c.get(k); ok {
		if e.err != nil {
			return nil, e.err
		}
		return slices.Clone(e.ids), nil
	}
	ids, err := c.d.MemberOf(ctx, kind, id)
	c.remember(k, nil, slices.Clone(ids), err)
	return ids, err
}

// Search implements Directory by asking the wrapped directory.
func (c *cached) Search(ctx context.Context, kind Kind, query string, limit int) ([]Object, error) {
	return c.d.Search(ctx, kind, query, limit)
}
