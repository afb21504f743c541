package sandbox_test

import (
	"testing"

	"github.com/runbooker/runbooker"
)

// A job's standard input is the null device, read-only, and what one job
// does to it (O_NONBLOCK on the descriptor it shares) changes nothing for
// the next.
func TestAJobsStandardInputIsTheNullDevice(t *testing.T) {
	const script = `if IFS= read -r line; then echo "read: $line"; else echo eof; fi
readlink /proc/self/fd/0
if (echo x >&0) 2>/dev/null; then echo writable; else echo "not writable"; fi`
	if in := interpreters(); in.Python != "" {
		res, _ := run(t, python("import fcntl, os\nfcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK)\nprint('set')"))
		wantStatus(t, res, runbooker.StatusCompleted)
	}
	for range 2 {
		res, s := run(t, bash(script))
		wantStatus(t, res, runbooker.StatusCompleted)
		equal(t, "output", s.texts(runbooker.StreamOutput), []string{"eof", "/dev/null", "not writable"})
	}
}
