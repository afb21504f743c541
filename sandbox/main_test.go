package sandbox_test

import (
	"os"
	"testing"

	"github.com/runbooker/runbooker/sandbox"
)

// TestMain lets the test binary hold a jail for the isolation tests, as
// the runbooker binary does.
func TestMain(m *testing.M) {
	sandbox.ServeJailHolder()
	os.Exit(m.Run())
}
