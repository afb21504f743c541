package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCached bounds the statement cache. The store's queries come from a
// small set of texts (filters combine into a few hundred at most); past the
// bound, queries simply run unprepared.
const maxCached = 1000

// querier is what the store runs queries on: the reader pool, the writer
// connection, or a statement cache in front of either.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// preparer is a querier that can also prepare statements.
type preparer interface {
	querier
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmtCache is a querier that prepares each distinct query text once and
// reuses the statement. With modernc's SQLite, parsing and planning a query
// costs more than running most of the store's queries.
type stmtCache struct {
	raw   preparer
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(raw preparer) *stmtCache {
	return &stmtCache{raw: raw, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the cached statement for query, preparing it on first use;
// nil when the cache is full or the query does not prepare (running it
// unprepared then reports the error).
func (c *stmtCache) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[query]
	full := len(c.stmts) >= maxCached
	c.mu.RUnlock()
	if ok || full {
		return st
	}
	st, err := c.raw.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.stmts[query]; ok { // prepared meanwhile by another caller
		st.Close()
		return old
	}
	c.stmts[query] = st
	return st
}

// QueryRowContext runs a query expected to return at most one row.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.raw.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.raw.QueryContext(ctx, query, args...)
}

// ExecContext runs a statement that returns no rows.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.raw.ExecContext(ctx, query, args...)
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}
