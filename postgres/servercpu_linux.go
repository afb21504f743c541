package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// Postmaster finds, on this machine, the postmaster of the server dsn
// reaches: the parent of a backend serving a connection of its own. It
// fails when the server is elsewhere, or /proc does not show it as a
// postgres process (another PID namespace, hidden processes).
func Postmaster(ctx context.Context, dsn string) (int, error) {
	if !OnThisMachine(dsn) {
		return 0, errors.New("the server is not on this machine")
	}
	conn, err := pgx.Connect(ctx, PlainOnLoopback(dsn))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var backend int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0, err
	}
	f, err := postgresStat(backend)
	if err != nil {
		return 0, err
	}
	pm, err := strconv.Atoi(string(f[1])) // ppid
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", backend, err)
	}
	if _, err := postgresStat(pm); err != nil {
		return 0, err
	}
	return pm, nil
}

// ServerCPU is the CPU time the server of postmaster pm has used so far:
// the postmaster's own, that of the children it has waited for (backends
// that exited), and its live children's (backends and background
// processes), user and system, to the 10 ms of /proc's clock.
func ServerCPU(pm int) (time.Duration, error) {
	f, err := postgresStat(pm)
	if err != nil {
		return 0, err
	}
	ticks := statTicks(f, 4) // utime, stime, cutime, cstime
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pm, pm))
	if err != nil {
		return 0, err
	}
	for _, k := range bytes.Fields(kids) {
		pid, _ := strconv.Atoi(string(k))
		if f, err := postgresStat(pid); err == nil { // one that ended meanwhile counts with its parent's
			ticks += statTicks(f, 2) // utime, stime
		}
	}
	return time.Duration(ticks) * clockTick, nil
}

// postgresStat is the fields of /proc/pid/stat after the command name
// (state, ppid, …), of a process named postgres.
func postgresStat(pid int) ([][]byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	// pid (comm) state ppid …: comm may hold spaces; fields count from the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || !bytes.HasSuffix(b[:i], []byte("(postgres")) {
		return nil, fmt.Errorf("process %d is not a postgres process", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 15 {
		return nil, fmt.Errorf("process %d: a short /proc stat line", pid)
	}
	return f, nil
}

// statTicks sums the first n of utime, stime, cutime and cstime (fields
// 14–17 of the stat line, 11–14 after the command name).
func statTicks(f [][]byte, n int) int64 {
	var ticks int64
	for _, s := range f[11 : 11+n] {
		v, _ := strconv.ParseInt(string(s), 10, 64)
		ticks += v
	}
	return ticks
}
