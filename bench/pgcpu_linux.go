package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// postgresCPU is the CPU the PostgreSQL server's processes on this machine
// have used so far: every process named postgres (the backends, the
// background processes and the postmaster), with the times of the children
// each has waited for, which holds those of backends that have exited. It
// reports false where /proc tells nothing of such a process (the server is
// elsewhere, or runs as a user whose processes are hidden from this one).
func postgresCPU() (time.Duration, bool) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	found := false
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces; fields count from
		// the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || !bytes.HasSuffix(b[:i], []byte("(postgres")) {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 15 { // utime, stime, cutime, cstime are fields 14–17 of the line
			continue
		}
		for _, s := range f[11:15] {
			n, err := strconv.ParseInt(string(s), 10, 64)
			if err == nil {
				ticks += n
			}
		}
		found = true
	}
	return time.Duration(ticks) * clockTick, found
}
