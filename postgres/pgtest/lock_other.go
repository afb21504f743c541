//go:build !unix

package pgtest

import "testing"

// Restart tests run only where pg_ctlcluster does: no lock is needed elsewhere.
func lockShared(t testing.TB)    {}
func lockExclusive(t testing.TB) {}
