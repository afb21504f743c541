package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/bench"
	"github.com/runbooker/runbooker/engine"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/postgres"
)

// pgDeployment is several `runbooker serve` processes sharing one
// PostgreSQL database, with a worker group "onprem" and an admin credential.
type pgDeployment struct {
	url     string // the shared database
	cred    string
	token   string // registration token of "onprem"
	servers []*serverProcess
	clients []*rbhttp.Client
}

const trivialRunbook = "org_general_trivial"

// startPGDeployment prepares the database (credential, group, a trivial
// bash runbook) and starts n server processes on it, one after the other,
// all with the same master key.
func startPGDeployment(t *testing.T, url string, n int, extra ...string) *pgDeployment {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, url, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, secret, err := createCredential(ctx, st, runbooker.DefaultTenant, "scale", runbooker.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	token, err := engine.New(st, engine.Config{}, nil).CreateGroup(ctx, &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: "onprem"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	d := &pgDeployment{url: url, cred: c.ID + ":" + secret, token: token}
	key := filepath.Join(t.TempDir(), "master.key")
	for range n {
		args := append([]string{"--db", url, "--master-key-file", key, "--lease-ttl", "5s"}, extra...)
		p := startServerProcess(t, freeAddr(t), t.TempDir(), args...)
		cl, err := rbhttp.NewClient(p.url, d.cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.servers, d.clients = append(d.servers, p), append(d.clients, cl)
	}
	if _, err := d.clients[0].PutRunbook(ctx, trivialRunbook, runbooker.LangBash, []byte("#!/bin/bash\necho ok\n")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, p := range d.servers {
				t.Logf("server %d log:\n%s", i, p.log.String())
			}
		}
	})
	return d
}

// sql opens a direct connection to the deployment's database, for checks.
func (d *pgDeployment) sql(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), d.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitAllTerminal waits until none of the jobs in ids is unfinished.
func waitAllTerminal(t *testing.T, conn *pgx.Conn, ids []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var open int
		err := conn.QueryRow(context.Background(), `SELECT count(*) FROM jobs WHERE id = ANY($1)
			AND status NOT IN ('Completed', 'Failed', 'Stopped')`, ids).Scan(&open)
		if err == nil && open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs still unfinished after %s (err %v)", open, len(ids), within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkRanOnce proves each job completed on its first attempt with exactly
// the one record the trivial runbook writes: no job ran twice.
func checkRanOnce(t *testing.T, conn *pgx.Conn, ids []string) {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT j.id, j.status, j.attempt, j.lost_count,
			count(r.seq), coalesce(string_agg(r.type || ':' || r.text, '|' ORDER BY r.seq), '')
		FROM jobs j LEFT JOIN stream_records r ON r.job_pk = j.pk
		WHERE j.id = ANY($1) GROUP BY j.pk`, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen, bad := 0, 0
	for rows.Next() {
		var id, status, recs string
		var attempt, lost int32
		var n int64
		if err := rows.Scan(&id, &status, &attempt, &lost, &n, &recs); err != nil {
			t.Fatal(err)
		}
		seen++
		if status != "Completed" || attempt != 1 || lost != 0 || n != 1 || recs != "Output:ok" {
			if bad++; bad <= 10 {
				t.Errorf("job %s: %s attempt %d lost %d, %d records %q; want Completed on attempt 1 with one Output ok",
					id, status, attempt, lost, n, recs)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(ids) || bad > 0 {
		t.Fatalf("%d of %d jobs found, %d ran other than exactly once", seen, len(ids), bad)
	}
}

func fmtDurations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	return fmt.Sprintf("p50 %v, max %v (n=%d)", bench.Percentile(ds, 0.5), bench.Percentile(ds, 1), len(ds))
}
