//go:build unix

package sandbox

import (
	"syscall"
	"time"
)

// CPUUsed is the CPU, user and system, this process has used so far
// (self) and that of the children it waited for (children: the processes
// of the jobs it ran, warm ones included, once they ended). Benchmarks
// read a job's cost from it.
func CPUUsed() (self, children time.Duration) {
	var s, c syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &s) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c) != nil {
		return 0, 0
	}
	return time.Duration(s.Utime.Nano() + s.Stime.Nano()), time.Duration(c.Utime.Nano() + c.Stime.Nano())
}
