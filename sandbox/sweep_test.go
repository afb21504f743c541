package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSweepJobDirsRemovesOnlyDeadWorkersLeftovers(t *testing.T) {
	root := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("cannot start a process to get a dead pid")
	}
	deadDir := filepath.Join(root, jobDirPrefix+strconv.Itoa(dead.Process.Pid)+"-job-123")
	liveDir := filepath.Join(root, jobDirPrefix+strconv.Itoa(os.Getpid())+"-job-456")
	parentDir := filepath.Join(root, jobDirPrefix+strconv.Itoa(os.Getppid())+"-job-789")
	other := filepath.Join(root, "rb-not-a-pid")
	for _, d := range []string{deadDir, liveDir, parentDir, other} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if n := SweepJobDirs(root); n != 1 {
		t.Errorf("removed %d directories, want 1", n)
	}
	if _, err := os.Stat(deadDir); !os.IsNotExist(err) {
		t.Errorf("the dead worker's directory is still there: %v", err)
	}
	for _, d := range []string{liveDir, parentDir, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
