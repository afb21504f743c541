package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/runbooker/runbooker/postgres"
)

// isPostgresURL reports whether a --db value names a PostgreSQL database.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// database gives a bench run a database of its own: for a PostgreSQL
// --db, a fresh database on that server (so figures never depend on what
// an earlier run left behind), dropped by the returned func; any other
// --db is used as it is.
func database(ctx context.Context, db string) (string, func(), error) {
	if !isPostgresURL(db) {
		return db, func() {}, nil
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "runbooker_bench_" + hex.EncodeToString(b[:])
	url, err := postgres.CreateDatabase(ctx, db, name)
	if err != nil {
		return "", nil, fmt.Errorf("creating the bench database on %s: %w", postgres.RedactURL(db), err)
	}
	return url, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = postgres.DropDatabase(ctx, db, name)
	}, nil
}

// serveDB is the --db of a separate bench server process: the bench's
// own database on PostgreSQL, where replicas share one; "" (the data
// directory's SQLite file) otherwise.
func serveDB(db string) string {
	if isPostgresURL(db) {
		return db
	}
	return ""
}
