// Package postgres implements runbooker.Store on PostgreSQL through
// pgx (github.com/jackc/pgx/v5). It is the store of a scale-out
// deployment: several `runbooker serve` replicas share one database, and
// Bus carries wake-ups between them (LISTEN/NOTIFY).
//
// Semantics are those of the SQLite engine, checked by the same
// conformance suite (package storetest). Where SQLite serialises writers,
// PostgreSQL runs them side by side, so every read-modify-write here either
// is one statement or locks the rows it reads first: claims and the lease
// rescuer take rows with FOR UPDATE SKIP LOCKED, fenced worker calls check
// the attempt in the statement that changes the row, and record appends hold
// a share lock on their job while they insert.
//
// Times are stored as bigint Unix nanoseconds (UTC), as in the SQLite
// engine: values round-trip exactly and the job-list cursor is a pair of
// integers on both engines.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// Config tunes the connection pool. Zero values take the defaults.
type Config struct {
	// PoolSize is the most connections the pool opens (default 16).
	PoolSize int
	// StatementTimeout bounds each statement on the server (default 30s);
	// a statement past it fails with EUNAVAILABLE, like an outage.
	StatementTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultPoolSize         = 16
	DefaultStatementTimeout = 30 * time.Second
)

// DB is a Runbooker store in one PostgreSQL database. It is safe for
// concurrent use, by goroutines and by other processes on the same database.
type DB struct {
	pool       *pgxpool.Pool
	connCfg    *pgx.ConnConfig // for the bus's dedicated listening connection
	now        func() time.Time
	closeOnce  sync.Once
	creates    *batcher[newJob, struct{}]                           // CreateJob, batched under load
	finishes   *batcher[runbooker.FinishParams, *runbooker.Job]     // FinishJob, batched under load
	chains     *batcher[finishClaim, finishClaimed]                 // FinishAndClaim, batched under load
	audits     *batcher[runbooker.AuditEntry, runbooker.AuditEntry] // AppendAudit, one batch at a time
	auditHeads auditHeads
}

var _ runbooker.Store = (*DB)(nil)

// Open connects to the database named by url (postgres://…), brings its
// schema up to date and returns the store. A server on this machine is
// reached without TLS unless the URL asks for it (see PlainOnLoopback).
// Connections are opened lazily
// and re-opened by themselves after a database restart.
func Open(ctx context.Context, url string, cfg Config) (*DB, error) {
	pc, err := pgxpool.ParseConfig(PlainOnLoopback(url))
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "postgres: invalid database URL: %v", redactErr(err))
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = DefaultPoolSize
	}
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = DefaultStatementTimeout
	}
	pc.MaxConns = int32(cfg.PoolSize)
	pc.MinConns = 0
	// Dead connections (after a restart) are found by the ping on acquire
	// (idle ≥ 1s) and by this check, so the pool heals without traffic.
	pc.HealthCheckPeriod = 5 * time.Second
	pc.PingTimeout = 5 * time.Second
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pc.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(cfg.StatementTimeout.Milliseconds())
	pc.ConnConfig.RuntimeParams["application_name"] = "runbooker"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, storeErr(err, "database connection")
	}
	db := &DB{pool: pool, connCfg: pc.ConnConfig.Copy(), now: time.Now}
	db.startBatchers()
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes every connection of the pool, waiting for those in use.
func (db *DB) Close() error {
	db.closeOnce.Do(db.pool.Close)
	return nil
}

// Ping implements runbooker.Store.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return unavailable(err)
	}
	return nil
}

// storeErr translates a database error once, at the store boundary: no rows
// is ENOTFOUND and a unique violation ECONFLICT, both naming the object; a
// database that cannot be reached, is restarting or is overloaded is
// EUNAVAILABLE (HTTP 503), never an internal error; anything else stays
// internal, with its cause kept for logs.
func storeErr(err error, object string) error {
	if err == nil {
		return nil
	}
	var re *runbooker.Error
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return runbooker.Errorf(runbooker.ENOTFOUND, "%s not found", object)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return runbooker.Errorf(runbooker.ECONFLICT, "%s already exists", object)
		case strings.HasPrefix(pe.Code, "22") || pe.Code == "54000": // a value it cannot take (encoding, range, size)
			return runbooker.Errorf(runbooker.EINVALID, "%s: a value the database cannot store: %s", object, pe.Message)
		case isUnavailableCode(pe.Code):
			return unavailable(err)
		}
		return fmt.Errorf("postgres: %s: %w", object, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
			return unavailable(err)
		}
		return fmt.Errorf("postgres: %s: %w", object, err)
	}
	if isConnErr(err) {
		return unavailable(err)
	}
	return fmt.Errorf("postgres: %s: %w", object, err)
}

// isUnavailableCode reports SQLSTATEs that mean "try again later": the
// connection failed (08), the server is shutting down or starting (57P0x),
// too many connections (53300), out of resources (53), a statement or
// lock timeout (57014, 55P03), or a serialization failure or deadlock (40).
func isUnavailableCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57P"),
		strings.HasPrefix(code, "40"), code == "57014", code == "55P03":
		return true
	}
	return false
}

// isConnErr reports errors of the connection itself rather than of a
// statement: refused, reset, closed, timed out.
func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err), pgconn.SafeToRetry(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool") ||
		strings.Contains(msg, "failed to connect") || strings.Contains(msg, "unexpected EOF")
}

// unavailable is the EUNAVAILABLE a client gets while the database is down:
// the message says so plainly and carries the driver's reason, which names
// no secret (connection strings are redacted).
func unavailable(err error) error {
	return runbooker.Errorf(runbooker.EUNAVAILABLE, "database unavailable: %s", redactErr(err))
}

// redactErr returns err's text with any password of a connection string
// removed.
func redactErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "password="); i >= 0 {
		end := strings.IndexAny(s[i:], " )")
		if end < 0 {
			end = len(s) - i
		}
		s = s[:i] + "password=…" + s[i+end:]
	}
	if i := strings.Index(s, "://"); i >= 0 {
		if at := strings.Index(s[i:], "@"); at > 0 {
			if colon := strings.Index(s[i+3:i+at], ":"); colon >= 0 {
				s = s[:i+3+colon] + ":…" + s[i+at:]
			}
		}
	}
	return s
}

// literalLimit writes a row limit into a statement. As a parameter ($n),
// PostgreSQL plans the statement anew at every execution: a generic plan
// must guess the limit (a tenth of the rows), costs more than any custom
// plan with the real one, and so is never chosen. Planning took 0.2 ms of
// a job listing that ran in 0.02 ms on 1,000,000 jobs, and a share of every
// claim. With the limit in the text, a prepared statement gets its generic
// plan after five runs. Limits are few (page sizes, free slots), so are the
// statements.
func literalLimit(n int) string { return strconv.Itoa(n) }

// Times are stored as bigint Unix nanoseconds, UTC; the zero time is NULL.

func nanos(t time.Time) int64 { return t.UnixNano() }

func nullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return fromNanos(*n)
}

// cleanText makes s storable in a PostgreSQL text column, which holds
// neither NUL nor invalid UTF-8 (SQLite holds both): such bytes become
// U+FFFD, as the sandbox already does for process output.
func cleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// scanner is what pgx.Row and pgx.Rows have in common.
type scanner = storeutil.Scanner

// pgCode returns the SQLSTATE of a server error, "" for any other error.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
