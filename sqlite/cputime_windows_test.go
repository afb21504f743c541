//go:build windows

package sqlite_test

import (
	"time"

	"golang.org/x/sys/windows"
)

// cpuTime is the CPU time (user + system) the process has used, as
// GetProcessTimes counts it (in 100 ns units).
func cpuTime() time.Duration {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &created, &exited, &kernel, &user); err != nil {
		return 0
	}
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration(ticks(kernel)+ticks(user)) * 100
}
