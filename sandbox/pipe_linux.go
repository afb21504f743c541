package sandbox

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// newPipe returns a pipe that Go's poller does not watch. Linux wakes an
// epoll-watched pipe's reader on every write, which made a runbook that
// writes line by line run at half speed; with a plain blocking read and a
// short pause after small reads (see lineReader.pause) the writer finds the
// pipe non-empty and wakes nobody. The cost: a blocked read holds an OS
// thread, and cannot be interrupted (see DrainDelay).
func newPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

// unreadBytes returns a function telling how many bytes wait in pipe r
// (FIONREAD, which Linux calls TIOCINQ).
func unreadBytes(r *os.File) func() int {
	conn, err := r.SyscallConn()
	if err != nil {
		return func() int { return 0 }
	}
	return func() int {
		n := 0
		_ = conn.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
		return n
	}
}
