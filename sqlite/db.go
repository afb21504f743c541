// Package sqlite implements runbooker.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go). It is the default store of a single-server
// install.
//
// SQLite allows one writer at a time. Rather than letting goroutines race
// for the write lock and back off on SQLITE_BUSY, every write goes through
// one connection, fed by a queue in Go whose waiting operations share a
// transaction (group commit; see DB.write). Reads use a separate pool and,
// thanks to WAL, never wait for the writer; a background goroutine
// checkpoints the WAL so that no commit waits for an fsync.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is a Runbooker store in one SQLite database file. It is safe for
// concurrent use.
type DB struct {
	w   *sql.DB    // exactly one connection: all writes and read-modify-write transactions
	wc  *sql.Conn  // that connection, held for the life of the DB
	r   *sql.DB    // read-only connections
	rq  *stmtCache // r, with statements prepared once
	wq  *stmtCache // wc, with statements prepared once
	now func() time.Time
	st  stmts

	wr        *writer // queue in front of w; see write
	ckpt      *checkpointer
	closeOnce sync.Once
	closeErr  error
}

var _ runbooker.Store = (*DB)(nil)

// pageSize is the page size of a new database (an existing one keeps its
// own). Each commit writes its every changed page whole into the WAL, and
// the hot paths change one page in each of many B-trees (a job and its
// nine indexes, its records): with SQLite compiled to Go, copying and
// checksumming 4 KiB pages (SQLite's default) cost the server a fifth of
// its CPU a job more than 1 KiB pages. Measured with `runbooker bench
// --only throughput --jobs 4000`, five alternated pairs: 0.67–0.71 of raw
// spawn (median 0.70) and 620–910 µs of the server's CPU a job, against
// 0.60–0.68 (0.62) and 740–980 µs; the queue-only, output, job-list and
// purge figures were as fast or faster.
const pageSize = 1024

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, runbooker.Errorf(runbooker.EINVALID, "sqlite: invalid database path %q", path)
	}
	common := fmt.Sprintf("_pragma=page_size(%d)&_busy_timeout=10000&_foreign_keys=1&_synchronous=NORMAL", pageSize)
	w, err := sql.Open("sqlite", path+"?"+common+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)", writerCheckpointPages, walSizeLimit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	wc, err := w.Conn(ctx)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db := &DB{w: w, wc: wc, wq: newStmtCache(wc), now: time.Now, wr: newWriter()}
	if err := walMode(ctx, wc); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.st.prepareTx(ctx, wc); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Readers are opened after the writer has switched the file to WAL.
	r, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	c, err := sql.Open("sqlite", path+"?"+common)
	if err != nil {
		r.Close()
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.ckpt = startCheckpointer(c, &db.wr.commits)
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.r, db.rq = r, newStmtCache(r)
	if err := db.st.prepare(ctx, wc); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// walMode switches the database to WAL. On a new file that takes an
// exclusive lock, and SQLite answers SQLITE_BUSY at once, without waiting,
// when another process is opening the same file: so wait here, a while.
func walMode(ctx context.Context, c *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var mode string
		err := c.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// Close waits for writes in progress, then closes the database; the last
// connection to close checkpoints the WAL into the main file. Calls after
// the first return the first one's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closeWriter()
		db.st.close()
		db.wq.close()
		if db.rq != nil {
			db.rq.close()
		}
		var errs []error
		if db.ckpt != nil {
			errs = append(errs, db.ckpt.close())
		}
		if db.r != nil {
			errs = append(errs, db.r.Close())
		}
		db.wc.ExecContext(context.Background(), "PRAGMA optimize") // best effort: refreshes planner statistics
		errs = append(errs, db.wc.Close(), db.w.Close())
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

// Ping implements runbooker.Store.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.rq.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "database unavailable: %v", err)
	}
	return nil
}

// storeErr translates a database error once, at the store boundary: no rows
// is ENOTFOUND and a unique violation ECONFLICT, both naming the object;
// anything else stays internal (with its cause kept for logs).
func storeErr(err error, object string) error {
	if err == nil {
		return nil
	}
	var re *runbooker.Error
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return runbooker.Errorf(runbooker.ENOTFOUND, "%s not found", object)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return runbooker.Errorf(runbooker.ECONFLICT, "%s already exists", object)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return runbooker.Errorf(runbooker.EUNAVAILABLE, "database busy; try again")
		}
	}
	return fmt.Errorf("sqlite: %s: %w", object, err)
}

// Times are stored as integer unix nanoseconds, UTC; the zero time is NULL.

func nanos(t time.Time) int64 { return t.UnixNano() }

func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// scanner is what sql.Row and sql.Rows have in common.
type scanner = storeutil.Scanner

func fromNullNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// stmts are the hot statements, prepared once on the writer connection.
type stmts struct {
	begin, commit, savepoint, release, rollbackTo                            *sql.Stmt
	insertJob, jobByID, claim, claimTenant, claimMark, start, extend, finish *sql.Stmt
	insertRecords                                                            [len(recordChunks)]*sql.Stmt
}

// prepareTx prepares the transaction control statements. BEGIN IMMEDIATE:
// a read-modify-write takes the write lock before it reads, so it never
// fails half-way on a lock upgrade.
func (s *stmts) prepareTx(ctx context.Context, w *sql.Conn) error {
	return prepareAll(ctx, w, []prep{
		{&s.begin, "BEGIN IMMEDIATE"},
		{&s.commit, "COMMIT"},
		{&s.savepoint, "SAVEPOINT op"},
		{&s.release, "RELEASE op"},
		{&s.rollbackTo, "ROLLBACK TO op"},
	})
}

// prepare prepares the hot statements, once the schema is in place.
func (s *stmts) prepare(ctx context.Context, w *sql.Conn) error {
	ps := []prep{
		{&s.insertJob, insertJobSQL},
		{&s.claim, fmt.Sprintf(claimSQL, queueIndex(false), "")},
		{&s.claimTenant, fmt.Sprintf(claimSQL, queueIndex(true), "AND tenant_id = ?3")},
		{&s.claimMark, claimMarkSQL},
		{&s.start, startSQL},
		{&s.extend, extendSQL},
		{&s.finish, finishSQL},
		{&s.jobByID, jobByIDSQL},
	}
	for i, n := range recordChunks {
		ps = append(ps, prep{&s.insertRecords[i], insertRecordsSQL(n)})
	}
	return prepareAll(ctx, w, ps)
}

type prep struct {
	dst **sql.Stmt
	sql string
}

func prepareAll(ctx context.Context, w *sql.Conn, ps []prep) error {
	for _, p := range ps {
		st, err := w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %.40q: %w", p.sql, err)
		}
		*p.dst = st
	}
	return nil
}

func (s *stmts) close() {
	all := append([]*sql.Stmt{s.begin, s.commit, s.savepoint, s.release, s.rollbackTo, s.insertJob, s.jobByID,
		s.claim, s.claimTenant, s.claimMark, s.start, s.extend, s.finish}, s.insertRecords[:]...)
	for _, st := range all {
		if st != nil {
			st.Close()
		}
	}
}
