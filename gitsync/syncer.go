package gitsync

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/keyring"
)

// Store is what a sync needs from persistence: tenants (for the interval
// service), runbooks, and the settings document holding the sources.
type Store interface {
	runbooker.TenantStore
	runbooker.RunbookStore
	runbooker.SettingStore
}

// Config tunes a Syncer.
type Config struct {
	Dir          string           // cache root: DIR/<tenant>/<source> holds a bare clone
	FetchTimeout time.Duration    // bound of one fetch (default 5m)
	Now          func() time.Time // clock; default time.Now
	// AllowLocal lets sources name local paths and file:// URLs: for a
	// single-tenant server (the demo) and tests. Otherwise one tenant could
	// read another's repository, or the server's files, from disk.
	AllowLocal bool
	// AllowedHosts limits the hosts sources may name; the zero value allows
	// any host but loopback, link-local and unspecified addresses.
	AllowedHosts Hosts
	// Changed, when set, is told of every sync that added, updated, adopted
	// or removed runbooks, whoever started it (the API or the interval
	// service): the server records it in the tenant's audit log.
	Changed func(ctx context.Context, tenantID string, r *Report)
}

// Syncer syncs runbooks from upstream repositories and manages the sync
// sources. Syncs of one tenant run one at a time.
type Syncer struct {
	store Store
	keys  *keyring.Keyring
	cfg   Config
	log   *slog.Logger
	guard *guard // every connection of a fetch goes through it (dial.go)

	docMu sync.Mutex // read-modify-write of a sources document

	mu     sync.Mutex
	locks  map[string]chan struct{} // per tenant, a one-slot semaphore
	states map[statusKey]Status
	memos  map[statusKey]memo

	finished atomic.Pointer[func(tenantID, sourceID string, st Status)]
	observer atomic.Pointer[func(tenantID, sourceID string, st Status)]
}

// SetFinished has the syncer tell f of every sync's outcome as it is
// recorded, whoever started it (the API or the interval service); f must
// not block. The HTTP server streams it as a live event.
func (s *Syncer) SetFinished(f func(tenantID, sourceID string, st Status)) { s.finished.Store(&f) }

// SetObserver has the syncer tell f of every sync's outcome too, beside
// SetFinished's function (which the HTTP server takes): metrics count them.
// f must not block.
func (s *Syncer) SetObserver(f func(tenantID, sourceID string, st Status)) { s.observer.Store(&f) }

// Status is the outcome of a source's last sync in this process.
type Status struct {
	At        time.Time `json:"at"`
	Commit    string    `json:"commit,omitempty"`
	Branch    string    `json:"branch,omitempty"`
	Added     int       `json:"added"`
	Updated   int       `json:"updated"`
	Removed   int       `json:"removed"`
	Unchanged int       `json:"unchanged"`
	Errors    int       `json:"errors"`
	Error     string    `json:"error,omitempty"` // the sync failed as a whole
}

type statusKey struct{ tenant, source string }

// New returns a syncer over st. keys seals source credentials; without it,
// only sources without credentials can be stored.
func New(st Store, keys *keyring.Keyring, cfg Config, log *slog.Logger) *Syncer {
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	installTransports()
	return &Syncer{store: st, keys: keys, cfg: cfg, log: log, guard: newGuard(cfg),
		locks: map[string]chan struct{}{}, states: map[statusKey]Status{}, memos: map[statusKey]memo{}}
}

// lock serialises syncs (and source deletions) of one tenant. It gives up
// when ctx ends while waiting.
func (s *Syncer) lock(ctx context.Context, tenantID string) (unlock func(), err error) {
	s.mu.Lock()
	ch, ok := s.locks[tenantID]
	if !ok {
		ch = make(chan struct{}, 1)
		s.locks[tenantID] = ch
	}
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "waiting for another sync of this tenant to finish: %v", ctx.Err())
	}
}

func (s *Syncer) status(tenantID, sourceID string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.states[statusKey{tenantID, sourceID}]
	return st, ok
}

func (s *Syncer) forget(tenantID, sourceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.states, statusKey{tenantID, sourceID})
	delete(s.memos, statusKey{tenantID, sourceID})
}

func (s *Syncer) record(tenantID, sourceID string, at time.Time, rep *Report, err error) {
	st := Status{At: at}
	if rep != nil {
		st.Commit, st.Branch = rep.Commit, rep.Branch
		st.Added, st.Updated, st.Removed = len(rep.Added), len(rep.Updated), len(rep.Removed)
		st.Unchanged, st.Errors = rep.Unchanged, len(rep.Errors)
	}
	if err != nil {
		st.Error = runbooker.ErrorMessage(err)
	}
	s.mu.Lock()
	s.states[statusKey{tenantID, sourceID}] = st
	s.mu.Unlock()
	if f := s.finished.Load(); f != nil && *f != nil {
		(*f)(tenantID, sourceID, st)
	}
	if f := s.observer.Load(); f != nil && *f != nil {
		(*f)(tenantID, sourceID, st)
	}
}

// Sync syncs one source of a tenant and reports what changed. An error is
// the failure of the whole sync (source unknown, repository unreachable,
// branch missing, store down); problems with single files are in the
// report.
func (s *Syncer) Sync(ctx context.Context, tenantID, sourceID string) (*Report, error) {
	return s.SyncWith(ctx, tenantID, sourceID, Options{})
}

// Options change what one sync request may do.
type Options struct {
	// Adopt takes over runbooks of the source's names that no source owns
	// (uploaded or imported ones): the sync stores its version over them and
	// owns them from then on. Without it such names are reported as
	// problems and left alone. Runbooks of another source are never taken.
	Adopt bool
}

// SyncWith is Sync with options.
func (s *Syncer) SyncWith(ctx context.Context, tenantID, sourceID string, opt Options) (*Report, error) {
	unlock, err := s.lock(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.syncLocked(ctx, tenantID, sourceID, opt)
}

func (s *Syncer) syncLocked(ctx context.Context, tenantID, sourceID string, opt Options) (*Report, error) {
	start, began := s.cfg.Now(), time.Now()
	src, creds, err := s.source(ctx, tenantID, sourceID)
	if err != nil {
		return nil, err
	}
	// The server's policy may have changed since the source was saved.
	rep, err := (*Report)(nil), s.allowed(src)
	if err == nil {
		rep, err = s.run(ctx, tenantID, src, creds, opt)
	}
	if rep != nil {
		rep.DurationMS = time.Since(began).Milliseconds()
	}
	s.record(tenantID, sourceID, start, rep, err)
	if err != nil {
		s.log.Warn("sync failed", "tenant", tenantID, "source", sourceID, "err", err)
		return nil, err
	}
	s.log.Info("synced", "tenant", tenantID, "source", sourceID, "commit", rep.Commit,
		"added", len(rep.Added), "updated", len(rep.Updated), "removed", len(rep.Removed),
		"unchanged", rep.Unchanged, "errors", len(rep.Errors))
	if s.cfg.Changed != nil && len(rep.Added)+len(rep.Updated)+len(rep.Adopted)+len(rep.Removed) > 0 {
		s.cfg.Changed(ctx, tenantID, rep)
	}
	return rep, nil
}

// SyncAll syncs every source of a tenant in id order. A source that fails
// does not stop the others: its report carries the Error (internal errors
// as "internal error"; the log has the details).
func (s *Syncer) SyncAll(ctx context.Context, tenantID string) ([]*Report, error) {
	return s.SyncAllWith(ctx, tenantID, Options{})
}

// SyncAllWith is SyncAll with options.
func (s *Syncer) SyncAllWith(ctx context.Context, tenantID string, opt Options) ([]*Report, error) {
	srcs, err := s.Sources(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]*Report, 0, len(srcs))
	for _, v := range srcs {
		rep, err := s.SyncWith(ctx, tenantID, v.ID, opt)
		if err != nil {
			if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
				continue // deleted meanwhile
			}
			rep = newReport(v.ID)
			rep.Error = runbooker.ErrorMessage(err)
		}
		out = append(out, rep)
	}
	return out, nil
}
