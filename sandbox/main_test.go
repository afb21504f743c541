package sandbox_test

import (
	"os"
	"testing"

	"github.com/runbooker/runbooker/sandbox"
)

// TestMain runs the tests in a mount namespace of their own (as root), as
// the runbooker binary runs serve and worker, so that jobs can be jailed.
func TestMain(m *testing.M) {
	sandbox.EnterMountNamespace()
	os.Exit(m.Run())
}
