package sandbox

import (
	"os"
	"os/exec"
	"testing"
)

// Every job's command gets the same null device for its standard input,
// opened once, instead of one exec.Cmd opens and closes at each start.
func TestJobsShareOneNullDevice(t *testing.T) {
	a, b := exec.Command("true"), exec.Command("true")
	setStdin(a)
	setStdin(b)
	f, ok := a.Stdin.(*os.File)
	if !ok || f == nil || b.Stdin != a.Stdin {
		t.Fatalf("stdin %v and %v: want one shared *os.File", a.Stdin, b.Stdin)
	}
	if f.Name() != os.DevNull {
		t.Errorf("stdin is %s, want %s", f.Name(), os.DevNull)
	}
}
