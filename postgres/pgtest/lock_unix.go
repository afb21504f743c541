//go:build unix

package pgtest

import (
	"os"
	"syscall"
	"testing"
)

func lockShared(t testing.TB)    { lock(t, syscall.LOCK_SH) }
func lockExclusive(t testing.TB) { lock(t, syscall.LOCK_EX) }

// lock takes an flock on the lock file until the test ends. Each call opens
// the file anew: flocks on separate descriptions conflict even within one
// process, which is what an exclusive holder needs.
func lock(t testing.TB, how int) {
	t.Helper()
	f, err := os.OpenFile(lockPath(), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		t.Fatalf("pgtest lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("pgtest lock: %v", err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}
