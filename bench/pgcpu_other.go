//go:build !linux

package bench

import "time"

// postgresCPU is not read here (see pgcpu_linux.go).
func postgresCPU() (time.Duration, bool) { return 0, false }
