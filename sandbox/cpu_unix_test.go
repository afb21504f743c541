//go:build unix

package sandbox_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time of this process and of its children that
// ended (the jobs' processes, warm ones included), user and system.
func processCPU() time.Duration {
	var self, kids syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids) != nil {
		return 0
	}
	var total time.Duration
	for _, tv := range []syscall.Timeval{self.Utime, self.Stime, kids.Utime, kids.Stime} {
		total += time.Duration(tv.Nano())
	}
	return total
}
