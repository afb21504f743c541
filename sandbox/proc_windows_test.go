//go:build windows

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestKillWaitsForTheJobToEmpty checks that kill returns only when no
// process of the job object is left, so the job directory can go at once.
func TestKillWaitsForTheJobToEmpty(t *testing.T) {
	dir := t.TempDir()
	comspec := os.Getenv("ComSpec")
	if comspec == "" {
		comspec = filepath.Join(os.Getenv("SystemRoot"), "System32", "cmd.exe")
	}
	// cmd.exe starts a child (ping) that holds the job open; the output
	// file in dir stays open while it runs.
	cmd := exec.Command(comspec, "/c", "ping -n 60 127.0.0.1 > out.txt")
	cmd.Dir = dir
	grp, err := newProcGroup(cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer grp.close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := grp.started(cmd.Process); err != nil {
		t.Fatal(err)
	}
	if !waitFor(killWait, func() bool { n, _ := grp.active(); return n >= 2 }) {
		n, err := grp.active()
		t.Fatalf("the job never had its two processes: %d %v", n, err)
	}
	grp.kill()
	if n, err := grp.active(); err != nil || n != 0 {
		t.Fatalf("after kill the job has %d processes (%v)", n, err)
	}
	_ = cmd.Wait()
	if err := removeWithRetry(dir, nil, removeOnce); err != nil {
		t.Errorf("the job directory cannot be removed right after kill: %v", err)
	}
}

func TestWindowsResolvesNoWSLBash(t *testing.T) {
	in := ResolveInterpreters()
	if in.Bash != "" && isWSLBash(in.Bash, os.Getenv("SystemRoot")) {
		t.Errorf("the worker took WSL's bash %s", in.Bash)
	}
	if in.PowerShell == "" && in.WindowsPowerShell != "" {
		if p, _, _ := powerShellFor("windows", "", in.PowerShell, in.WindowsPowerShell); p != in.WindowsPowerShell {
			t.Errorf("without pwsh the default edition runs %q", p)
		}
	}
}
