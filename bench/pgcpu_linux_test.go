package bench

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// The PostgreSQL server's CPU read from /proc grows by what a query made
// it spend, whether the backend that spent it is still there or exited.
func TestPostgresCPUCountsTheServersWork(t *testing.T) {
	pgtest.Require(t)
	ctx := context.Background()
	before, ok := postgresCPU()
	if !ok {
		t.Skip("no process named postgres is visible on this machine: the server is elsewhere")
	}
	conn, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	// Counting 10 million rows takes a backend well over 100 ms of CPU on
	// any machine this runs on.
	var n int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM generate_series(1, 10000000)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx) // the backend exits: its time moves to the postmaster's children
	time.Sleep(200 * time.Millisecond)
	after, _ := postgresCPU()
	if grew := after - before; grew < 100*time.Millisecond {
		t.Errorf("the server's CPU grew by %v over a query counting 10 million rows", grew)
	}
}
