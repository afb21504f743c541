package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
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

// commitPause is the pause the commit baseline waits before each commit:
// about as long as a trivial job runs, so that the commit meets the
// server as a synchronous run's finish does (asleep, on a virtual machine
// an idle CPU to wake).
const commitPause = 2 * time.Millisecond

// commitBaseline measures the PostgreSQL server of url as the sync figure
// meets it: the p50 of a one-row UPDATE's commit (a WAL flush) n times
// after a commitPause each, and n times back to back. A synchronous run
// cannot answer before its finish's commit, so the first is its floor on
// this server and machine. The table it uses is dropped again.
func commitBaseline(ctx context.Context, url string, n int) (paused, hot time.Duration, err error) {
	c, err := pgx.Connect(ctx, postgres.PlainOnLoopback(url))
	if err != nil {
		return 0, 0, fmt.Errorf("commit baseline: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, `CREATE TABLE bench_commit_probe (id integer PRIMARY KEY, n bigint NOT NULL);
		INSERT INTO bench_commit_probe VALUES (1, 0)`); err != nil {
		return 0, 0, fmt.Errorf("commit baseline: %w", err)
	}
	defer func() {
		_, _ = c.Exec(context.WithoutCancel(ctx), `DROP TABLE bench_commit_probe`)
	}()
	measure := func(pause time.Duration) (time.Duration, error) {
		d := make([]time.Duration, 0, n)
		for range n {
			time.Sleep(pause)
			t0 := time.Now()
			if _, err := c.Exec(ctx, `UPDATE bench_commit_probe SET n = n + 1 WHERE id = 1`); err != nil {
				return 0, fmt.Errorf("commit baseline: %w", err)
			}
			d = append(d, time.Since(t0))
		}
		return Percentile(d, 0.5), nil
	}
	if paused, err = measure(commitPause); err != nil {
		return 0, 0, err
	}
	hot, err = measure(0)
	return paused, hot, err
}

// floorJobs is the fewest jobs cpuFloor measures: /proc counts CPU in
// ticks of 10 ms, so a short run would read mostly rounding.
const floorJobs = 1000

// cpuFloor measures the least CPU a job can cost on the PostgreSQL server
// of url, pm its postmaster (postgres.Postmaster), with durability as the
// job engine keeps it: n one-row INSERTs, one by one as the throughput
// figure creates its jobs, each row then UPDATEd by one of conc finishers
// as a job's finish is, every commit waiting for its WAL flush. It returns
// the CPU a job of this process (pgx, the loopback socket) and of the
// server's processes. No queue, no index beyond the primary key, no
// output: what the job store costs beyond it is the store's own.
func cpuFloor(ctx context.Context, url string, pm, n, conc int) (client, server time.Duration, err error) {
	conns := make([]*pgx.Conn, conc+1)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close(context.Background())
			}
		}
	}()
	for i := range conns {
		if conns[i], err = pgx.Connect(ctx, postgres.PlainOnLoopback(url)); err != nil {
			return 0, 0, fmt.Errorf("CPU floor: %w", err)
		}
	}
	creator := conns[0]
	if _, err := creator.Exec(ctx, `CREATE TABLE bench_floor_probe (
		pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, status text NOT NULL)`); err != nil {
		return 0, 0, fmt.Errorf("CPU floor: %w", err)
	}
	defer func() {
		_, _ = creator.Exec(context.WithoutCancel(ctx), `DROP TABLE bench_floor_probe`)
	}()
	pks := make(chan int64, conc)
	errs := make(chan error, conc)
	s0, err := postgres.ServerCPU(pm)
	if err != nil {
		return 0, 0, fmt.Errorf("CPU floor: %w", err)
	}
	c0 := cpuNow()
	for _, c := range conns[1:] {
		go func() {
			var err error
			for pk := range pks {
				if err == nil {
					_, err = c.Exec(ctx, `UPDATE bench_floor_probe SET status = 'Completed' WHERE pk = $1`, pk)
				}
			}
			errs <- err
		}()
	}
	for range n {
		var pk int64
		if err = creator.QueryRow(ctx, `INSERT INTO bench_floor_probe (status) VALUES ('New') RETURNING pk`).Scan(&pk); err != nil {
			break
		}
		pks <- pk
	}
	close(pks)
	for range conc {
		err = errors.Join(err, <-errs)
	}
	c1 := cpuNow()
	s1, serr := postgres.ServerCPU(pm)
	if err = errors.Join(err, serr); err != nil {
		return 0, 0, fmt.Errorf("CPU floor: %w", err)
	}
	return (c1.self - c0.self) / time.Duration(n), (s1 - s0) / time.Duration(n), nil
}
