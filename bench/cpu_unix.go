//go:build unix

package bench

import (
	"syscall"
	"time"
)

// cpuNow is the CPU this process and the children it waited for have
// used so far, user and system.
func cpuNow() cpuUse {
	var self, kids syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids) != nil {
		return cpuUse{}
	}
	return cpuUse{
		self:     time.Duration(self.Utime.Nano() + self.Stime.Nano()),
		children: time.Duration(kids.Utime.Nano() + kids.Stime.Nano()),
	}
}
