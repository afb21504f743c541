package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// queued waits until n operations wait in the write queue.
func queued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		db.wr.mu.Lock()
		got := len(db.wr.queue)
		db.wr.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d operations queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond) // polling with a deadline: nothing to wait on
	}
}

// Operations queued behind a commit share the next transaction, and one
// failing or panicking operation undoes only its own changes.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "runbooker.db"))
	defer db.Close()

	db.wr.token <- struct{}{} // play a long commit: everything queues up
	put := func(key string) writeOp {
		return func(ctx context.Context, tx querier) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (tenant_id, key, value, updated_at) VALUES ('t', ?, x'', 0)`, key)
			return err
		}
	}
	errBoom := errors.New("boom")
	ops := []writeOp{
		put("a"),
		func(ctx context.Context, tx querier) error { put("b")(ctx, tx); return errBoom },
		put("c"),
		func(ctx context.Context, tx querier) error { put("d")(ctx, tx); panic("bug") },
		put("c"), // unique violation
		put("e"),
	}
	results := make([]error, len(ops))
	panics := make([]any, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			results[i] = db.write(ctx, op)
		})
		queued(t, db, i+1) // keep the queue in order
	}
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error)
	go func() { cancelled <- db.write(cctx, put("f")) }()
	queued(t, db, len(ops)+1)
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled queued write = %v", err)
	}
	<-db.wr.token
	wg.Wait()

	if results[0] != nil || results[2] != nil || results[5] != nil {
		t.Fatalf("good operations failed: %v", results)
	}
	if !errors.Is(results[1], errBoom) {
		t.Fatalf("failing operation returned %v", results[1])
	}
	if panics[3] != "bug" {
		t.Fatalf("panicking operation: recovered %v", panics[3])
	}
	if results[4] == nil {
		t.Fatal("duplicate insert succeeded")
	}
	var keys []string
	rows, err := db.r.QueryContext(ctx, `SELECT key FROM settings WHERE tenant_id = 't' ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	if got := len(keys); got != 3 || keys[0] != "a" || keys[1] != "c" || keys[2] != "e" {
		t.Fatalf("committed keys %v, want [a c e]", keys)
	}
	if _, err := db.Setting(ctx, "t", "f"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Fatalf("cancelled write was applied: %v", err)
	}
}

// Clean operations run without a savepoint: a clean failure leaves the
// others alone, a dirty one rolls the whole group back and fails it.
func TestGroupCommitClean(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "runbooker.db"))
	defer db.Close()
	put := func(key string) writeOp {
		return func(ctx context.Context, tx querier) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (tenant_id, key, value, updated_at) VALUES ('t', ?, x'', 0)`, key)
			return err
		}
	}
	run := func(ops []writeOp, clean []bool) []error {
		db.wr.token <- struct{}{}
		results := make([]error, len(ops))
		var wg sync.WaitGroup
		for i, op := range ops {
			wg.Go(func() {
				if clean[i] {
					results[i] = db.writeClean(ctx, op)
				} else {
					results[i] = db.write(ctx, op)
				}
			})
			queued(t, db, i+1)
		}
		<-db.wr.token
		wg.Wait()
		return results
	}
	has := func(key string) bool {
		_, err := db.Setting(ctx, "t", key)
		return err == nil
	}

	res := run([]writeOp{
		put("a"),
		func(ctx context.Context, tx querier) error { return runbooker.Errorf(runbooker.ECONFLICT, "fenced") },
		put("a"), // unique violation: SQLite undoes the statement alone
		put("b"),
	}, []bool{false, true, true, true})
	if res[0] != nil || res[3] != nil || runbooker.ErrorCode(res[1]) != runbooker.ECONFLICT || res[2] == nil {
		t.Fatalf("clean failures: %v", res)
	}
	if !has("a") || !has("b") {
		t.Fatal("a clean failure undid other operations")
	}

	res = run([]writeOp{
		put("c"),
		func(ctx context.Context, tx querier) error {
			put("d")(ctx, tx)
			return dirty(errors.New("disk on fire"))
		},
		put("e"),
	}, []bool{true, true, true})
	if res[0] == nil || res[1] == nil {
		t.Fatalf("a dirty failure did not fail its group: %v", res)
	}
	if has("c") || has("d") {
		t.Fatal("a dirty failure left changes behind")
	}
}
