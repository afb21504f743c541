package sandbox

import "time"

// WaitWarm waits until in keeps n warm bash processes ready, reporting
// whether it does within timeout.
func WaitWarm(in Interpreters, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		in.warm.mu.Lock()
		ready := len(in.warm.idle)
		in.warm.mu.Unlock()
		if ready >= n {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// WarmTaken is how many jobs ran in one of in's warm bash processes.
func WarmTaken(in Interpreters) int64 { return in.warm.taken.Load() }

// StopWarm ends in's warm processes (what Close does first).
func StopWarm(in Interpreters) { in.warm.close() }
