package pgtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker/postgres/pgtest"
)

func ping(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// A private instance is a server of its own: stopping it leaves the shared
// server (the one RUNBOOKER_TEST_POSTGRES names) running, and it starts again.
func TestPrivateInstanceStopsOnlyItself(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL instance")
	}
	pgtest.Require(t)
	in := pgtest.Private(t)
	if strings.Contains(in.AdminURL, ":5432/") || in.AdminURL == pgtest.AdminURL() {
		t.Fatalf("private instance at the shared server's address: %s", in.AdminURL)
	}
	url := in.Database("rb_private")
	if err := ping(url); err != nil {
		t.Fatalf("private database: %v", err)
	}
	in.Stop()
	if ping(url) == nil {
		t.Fatal("the private instance still answers after Stop")
	}
	if err := ping(pgtest.AdminURL()); err != nil {
		t.Fatalf("the shared server stopped with the private instance: %v", err)
	}
	in.Start()
	if err := ping(url); err != nil {
		t.Fatalf("private database after Start: %v", err)
	}
}
