package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// TestRunShowsASpinnerOnATerminal runs `runbooker run` under script(1),
// which gives it a pseudo-terminal, and checks the spinner with elapsed time
// appears there and is erased before the output.
func TestRunShowsASpinnerOnATerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed: no pseudo-terminal to test the spinner on")
	}
	s := startServer(t)
	s.put("org_general_slowish", runbooker.LangBash, "#!/bin/bash\nsleep 0.5\necho finished\n")
	cmd := exec.Command(scriptBin, "-qec", os.Args[0]+" run org_general_slowish", "/dev/null")
	cmd.Env = append(os.Environ(), "RUNBOOKER_TEST_AS_MAIN=1", "RUNBOOKER_SERVER="+s.url, "RUNBOOKER_CREDENTIAL="+s.cred)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run under a terminal: %v\n%q", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "running org_general_slowish") || !strings.Contains(text, "s\r") && !strings.Contains(text, "s\x1b") {
		t.Errorf("no spinner with elapsed time in %q", text)
	}
	if !strings.Contains(text, "\r\x1b[K") || !strings.HasSuffix(strings.TrimRight(text, "\r\n"), "finished") {
		t.Errorf("spinner not erased before the output: %q", text)
	}
	// Without a terminal there is no spinner at all.
	code, stdout, stderr := s.cli("run", "org_general_slowish")
	if code != 0 || stdout != "finished\n" || strings.Contains(stderr, "running") {
		t.Errorf("run without a terminal: %d %q %q", code, stdout, stderr)
	}
}
