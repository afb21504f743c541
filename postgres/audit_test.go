package postgres_test

import (
	"context"
	"testing"

	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
	"github.com/runbooker/runbooker/storetest"
)

// Two stores on one database stand for two servers of a scale-out
// deployment: their concurrent appends to one tenant's log still make one
// chain without gaps or forks.
func TestAuditAppendsFromTwoServers(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	ctx := context.Background()
	var servers [2]*postgres.DB
	for i := range servers {
		db, err := postgres.Open(ctx, url, postgres.Config{PoolSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		servers[i] = db
	}
	storetest.AuditFromTwoStores(t, servers[0], servers[1])
}
