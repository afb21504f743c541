package postgres

import (
	"context"

	"github.com/runbooker/runbooker/storeutil"
)

// TerminateListeners kills the event-bus connections of db's database, as
// a database restart would.
func TerminateListeners(ctx context.Context, db *DB) error {
	_, err := db.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`)
	return err
}

// QueryName reads the name of db's database.
func (db *DB) QueryName(ctx context.Context, name *string) error {
	return db.pool.QueryRow(ctx, `SELECT current_database()`).Scan(name)
}

// ExecRaw runs one statement past the store's API, for the audit tamper
// test of the conformance suite (storetest.RawExecer).
func (db *DB) ExecRaw(ctx context.Context, query string) error {
	_, err := db.pool.Exec(ctx, query)
	return err
}

// Migrations returns the schema steps of this build, in order, for the
// upgrade tests.
func Migrations() ([]storeutil.Migration, error) {
	return storeutil.LoadMigrations(migrations, "migrations", "postgres")
}

// BeforeFinishBatch makes before run, with the batch's size, ahead of each
// batch of finishes db writes.
func BeforeFinishBatch(db *DB, before func(size int)) { beforeBatch(db.finishes, before) }

// QueuedFinishes is how many finishes wait for a batch of db's.
func QueuedFinishes(db *DB) int { return queued(db.finishes) }

// BeforeChainBatch is BeforeFinishBatch for the batches of FinishAndClaim.
func BeforeChainBatch(db *DB, before func(size int)) { beforeBatch(db.chains, before) }

// QueuedChains is how many FinishAndClaim calls wait for a batch of db's.
func QueuedChains(db *DB) int { return queued(db.chains) }

func beforeBatch[In, Out any](b *batcher[In, Out], before func(size int)) {
	run := b.run
	b.run = func(ctx context.Context, calls []*batchCall[In, Out]) {
		before(len(calls))
		run(ctx, calls)
	}
}

func queued[In, Out any](b *batcher[In, Out]) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// GenericPlans sums the generic and the custom plans made so far for the
// statements prepared on db's connections that contain text (a pool of one
// connection shows them all).
func GenericPlans(ctx context.Context, db *DB, text string) (generic, custom int64, err error) {
	err = db.pool.QueryRow(ctx, `SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)
		FROM pg_prepared_statements WHERE strpos(statement, $1) > 0`, text).Scan(&generic, &custom)
	return generic, custom, err
}

// WriterTx is the id of the transaction that last wrote job id's row.
func WriterTx(ctx context.Context, db *DB, id string) (string, error) {
	var tx string
	err := db.pool.QueryRow(ctx, `SELECT xmin::text FROM jobs WHERE id = $1`, id).Scan(&tx)
	return tx, err
}
