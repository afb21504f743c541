package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/runbooker/runbooker"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxGroup bounds how many write operations share one commit.
const maxGroup = 256

// A write operation runs inside a transaction it may share with other
// operations (group commit): its changes are committed together with theirs,
// or rolled back alone when it returns an error. ctx is never cancelled
// while the operation runs, because interrupting a statement would roll back
// the whole shared transaction.
type writeOp func(ctx context.Context, tx querier) error

type writeReq struct {
	ctx   context.Context
	op    writeOp
	clean bool // see writeClean
	err   error
	panic any
	done  chan struct{}
}

// writer is the write queue in front of the single writer connection.
//
// SQLite commits cost far more than statements, and writes are serialised
// anyway, so operations that arrive while a commit is in progress are
// committed together in the next transaction (group commit). There is no
// writer goroutine: whichever caller holds the token runs the queued
// operations, so an uncontended write costs no goroutine switch.
type writer struct {
	token   chan struct{} // capacity 1; held while running operations
	mu      sync.Mutex
	queue   []*writeReq
	closed  bool
	commits atomic.Uint64 // successful commits, for the checkpointer
}

func newWriter() *writer { return &writer{token: make(chan struct{}, 1)} }

// write runs op on the single writer connection, in a BEGIN IMMEDIATE
// transaction it may share with other operations, and returns once that is
// committed. A failed operation is rolled back to its own savepoint and does
// not affect the others.
func (db *DB) write(ctx context.Context, op writeOp) error {
	return db.submit(ctx, &writeReq{ctx: ctx, op: op, done: make(chan struct{})})
}

// writeClean is write for an operation that, when it fails, either has
// written nothing yet or says otherwise by returning dirty(err): such an
// operation needs no savepoint of its own (two statements fewer per
// operation on the hot paths). A dirty failure rolls back the whole group.
func (db *DB) writeClean(ctx context.Context, op writeOp) error {
	return db.submit(ctx, &writeReq{ctx: ctx, op: op, clean: true, done: make(chan struct{})})
}

func (db *DB) submit(ctx context.Context, r *writeReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := db.wr
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "database is closed")
	}
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	select {
	case <-r.done:
	case w.token <- struct{}{}:
		// Let callers that are already runnable queue their operations
		// first, so they share this commit. Alone, this costs nothing.
		runtime.Gosched()
		for !r.finished() {
			db.runQueued()
		}
		<-w.token
	case <-ctx.Done():
		if w.remove(r) {
			return ctx.Err()
		}
		<-r.done // already running: its outcome is the answer
	}
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// runQueued runs what is queued, up to maxGroup operations, holding the token.
func (db *DB) runQueued() {
	w := db.wr
	w.mu.Lock()
	n := min(len(w.queue), maxGroup)
	batch := w.queue[:n:n]
	w.queue = w.queue[n:]
	if len(w.queue) == 0 {
		w.queue = nil
	}
	w.mu.Unlock()
	for len(batch) > 0 {
		batch = db.commitSome(batch)
	}
}

// remove takes r out of the queue, reporting whether it was still there.
func (w *writer) remove(r *writeReq) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, q := range w.queue {
		if q == r {
			w.queue = append(w.queue[:i:i], w.queue[i+1:]...)
			return true
		}
	}
	return false
}

// close refuses new operations and, once the token is free, runs what is
// still queued. The token is never given back.
func (db *DB) closeWriter() {
	w := db.wr
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.token <- struct{}{}
	for {
		w.mu.Lock()
		empty := len(w.queue) == 0
		w.mu.Unlock()
		if empty {
			return
		}
		db.runQueued()
	}
}

// commitSome runs a prefix of batch in one transaction, commits it and
// returns the operations it did not get to.
func (db *DB) commitSome(batch []*writeReq) []*writeReq {
	first, rest := batch[0], batch[1:]
	if err := first.ctx.Err(); err != nil {
		first.finish(err)
		return rest
	}
	// The transaction is driven by hand on the writer connection: cheaper
	// than database/sql's Tx, and the connection is never shared.
	ctx, tx, st := context.Background(), db.wq, &db.st
	if _, err := st.begin.ExecContext(ctx); err != nil {
		first.finish(fmt.Errorf("sqlite: begin: %w", err))
		return rest
	}
	// The first operation needs no savepoint: if it fails, the transaction
	// holds nothing else and is rolled back whole.
	if err := first.run(tx); err != nil {
		db.rollback()
		first.finish(err)
		return rest
	}
	group := []*writeReq{first}
	var broken error
	for len(rest) > 0 && broken == nil {
		r := rest[0]
		rest = rest[1:]
		if err := r.ctx.Err(); err != nil {
			r.finish(err)
			continue
		}
		if r.clean {
			switch err := r.run(tx); {
			case err == nil:
				group = append(group, r)
			case r.panic == nil && !isDirty(err):
				r.finish(err) // nothing written, or one failed statement SQLite undid itself
			default:
				r.finish(err)
				broken = err
			}
			continue
		}
		if _, err := st.savepoint.ExecContext(ctx); err != nil {
			broken = err
			r.finish(fmt.Errorf("sqlite: savepoint: %w", err))
			break
		}
		if err := r.run(tx); err != nil {
			r.finish(err)
			if _, err := st.rollbackTo.ExecContext(ctx); err != nil {
				broken = err
			}
		} else {
			group = append(group, r)
		}
		if _, err := st.release.ExecContext(ctx); err != nil && broken == nil {
			broken = err
		}
	}
	var err error
	if broken != nil {
		db.rollback()
		err = fmt.Errorf("sqlite: group transaction: %w", broken)
	} else if _, err = st.commit.ExecContext(ctx); err != nil {
		db.rollback() // a failed COMMIT may leave the transaction open
		err = fmt.Errorf("sqlite: commit: %w", err)
	} else {
		db.wr.commits.Add(1)
	}
	for _, r := range group {
		r.finish(err)
	}
	return rest
}

// dirtyError marks the failure of a clean operation (see writeClean) that
// happened after it wrote something.
type dirtyError struct{ err error }

func (e dirtyError) Error() string { return e.err.Error() }
func (e dirtyError) Unwrap() error { return e.err }

// dirty marks err as a failure after writing; nil stays nil.
func dirty(err error) error {
	if err == nil {
		return nil
	}
	return dirtyError{err}
}

// isDirty reports whether a failed clean operation may have left changes
// behind: it said so, or the error is not one that fails a single statement
// (or nothing) only. A constraint violation undoes its own statement.
func isDirty(err error) bool {
	var d dirtyError
	if errors.As(err, &d) {
		return true
	}
	var re *runbooker.Error
	if errors.As(err, &re) || errors.Is(err, sql.ErrNoRows) {
		return false
	}
	var se *sqlite.Error
	return !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT
}

// rollback ends the writer's transaction, if SQLite has not already.
func (db *DB) rollback() {
	db.wc.ExecContext(context.Background(), "ROLLBACK") // "no transaction is active" is fine
}

// run runs the operation, turning a panic into an error for the shared
// transaction and re-raising it in the caller's goroutine.
func (r *writeReq) run(tx querier) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.panic = p
			err = fmt.Errorf("sqlite: write operation panicked: %v", p)
		}
	}()
	return r.op(context.WithoutCancel(r.ctx), tx)
}

func (r *writeReq) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *writeReq) finish(err error) {
	if r.err == nil {
		r.err = err
	}
	close(r.done)
}

// exec runs one write statement as a write operation.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}
