package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker/storeutil"
)

// migrations holds the schema, one numbered file per step. A released file
// is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_lock key held while migrating, so that
// servers starting at once apply each step exactly once ("rbmigrat").
const migrationLock = 0x72626d6967726174

// migrate applies, each in its own transaction, the migrations the database
// has not seen, holding a session advisory lock so that concurrent servers
// take turns: the second one finds every step applied.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := storeutil.LoadMigrations(migrations, "migrations", "postgres")
	if err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return storeErr(err, "database connection")
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return storeErr(err, "migration lock")
	}
	defer func() {
		// A failed unlock (connection lost) releases the lock with the session.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at bigint NOT NULL)`); err != nil {
		return storeErr(err, "schema_migrations")
	}
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// A schema step may take longer than a request's statement timeout.
			if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, nanos(db.now()))
			return err
		})
		if err != nil {
			return storeErr(fmt.Errorf("migration %s: %w", m.Name, err), "schema")
		}
	}
	return nil
}
