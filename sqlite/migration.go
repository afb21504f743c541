package sqlite

import (
	"context"
	"embed"
	"fmt"
	"github.com/runbooker/runbooker/storeutil"
)

// migrations holds the schema, one numbered file per step. A released file
// is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies, each in its own transaction, the migrations the database
// has not seen. The version check happens inside the (immediate) transaction,
// so two processes opening the same file at once cannot both apply a step.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := storeutil.LoadMigrations(migrations, "migrations", "sqlite")
	if err != nil {
		return err
	}
	// In a write transaction like everything else: an autocommit statement
	// racing another process's first open could fail at once with
	// SQLITE_BUSY_SNAPSHOT instead of waiting.
	err = db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := db.wc.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at INTEGER NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := db.write(ctx, func(ctx context.Context, tx querier) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := db.wc.ExecContext(ctx, m.SQL); err != nil { // a script: not for the statement cache
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, nanos(db.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	return nil
}
