package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestSweepJobDirsRemovesOnlyDeadWorkersLeftovers(t *testing.T) {
	root := t.TempDir()
	dead := exec.Command(os.Args[0], "-test.run=^$") // this test binary, running no test
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

func TestRemoveWithRetryBacksOff(t *testing.T) {
	fails := 3
	calls := 0
	remove := func(string) error {
		calls++
		if calls <= fails {
			return errors.New("in use")
		}
		return nil
	}
	delays := []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}
	if err := removeWithRetry("x", delays, remove); err != nil || calls != 4 {
		t.Errorf("removed after %d calls: %v", calls, err)
	}
	calls, fails = 0, 100
	if err := removeWithRetry("x", delays, remove); err == nil || calls != len(delays)+1 {
		t.Errorf("gave up after %d calls: %v", calls, err)
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	if !waitFor(time.Second, func() bool { n++; return n == 5 }) {
		t.Error("waitFor gave up on a condition that came true")
	}
	if waitFor(5*time.Millisecond, func() bool { return false }) {
		t.Error("waitFor reported a condition that never came true")
	}
}

func TestSweeperRemovesLeftoverJobDirs(t *testing.T) {
	root := t.TempDir()
	in := Interpreters{TempRoot: root, left: &leftovers{}}
	dir := filepath.Join(root, "job-1")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	in.left.add(dir) // as removeJobDir does when the directory is still in use
	s := startSweeper(in, 5*time.Millisecond)
	defer s.close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not remove the leftover job directory")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.close() // waits for the sweep under way, which forgets the directory after removing it
	if len(in.left.list()) != 0 {
		t.Errorf("leftovers after the sweep: %v", in.left.list())
	}
	s.close() // Close may run twice
}
