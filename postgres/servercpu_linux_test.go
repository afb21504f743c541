package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

// The server's CPU read from /proc grows by what a query made it spend,
// after the backend that spent it has exited.
func TestServerCPUCountsTheServersWork(t *testing.T) {
	pgtest.Require(t)
	ctx := context.Background()
	pm, err := postgres.Postmaster(ctx, pgtest.AdminURL())
	if err != nil {
		t.Skipf("the test server's processes are not visible here: %v", err)
	}
	before, err := postgres.ServerCPU(pm)
	if err != nil {
		t.Fatal(err)
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
	after, err := postgres.ServerCPU(pm)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew < 100*time.Millisecond {
		t.Errorf("the server's CPU grew by %v over a query counting 10 million rows", grew)
	}
	if _, err := postgres.Postmaster(ctx, "postgres://u@db.example.com/db"); err == nil {
		t.Error("Postmaster found a process for a server on another machine")
	}
}
