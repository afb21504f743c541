package runbooker

import "time"

// Clock tells the time. Everything that stores a time or decides on one
// (the engine, its maintenance loops, the HTTP server, the agent, the git
// sync) takes its clock from the one cmd/runbooker's Main is given, so that
// end-to-end tests move time forward instead of sleeping. A nil Clock is the
// wall clock.
//
// A Clock only reads the time: timers and tickers stay on the wall clock,
// and tests that need a loop to run call its pass directly (for example
// engine.Maintenance.SuspendStarved).
type Clock func() time.Time

// Now returns the clock's time, the wall clock's when c is nil.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
