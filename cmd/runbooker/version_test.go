package main

import (
	"os"
	"strings"
	"testing"
)

func TestVersionOfClientAndServer(t *testing.T) {
	s := startServer(t)
	code, out, errOut := s.cli("version")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "runbooker "+version+" (go") ||
		!strings.HasPrefix(lines[1], "server "+version+" (go") {
		t.Errorf("version: exit %d out %q err %q", code, out, errOut)
	}
	if st, _, body := s.call("GET", "/api/v1/version", "", ""); st != 401 {
		t.Errorf("the version answers without credentials: %d %s", st, body)
	}
}

// TestImportMessagesAreSentences: a missing folder is named, and a file
// whose path is no runbook name is skipped with a plain sentence.
func TestImportMessagesAreSentences(t *testing.T) {
	s := startServer(t)
	missing := t.TempDir() + "/nonexistent"
	code, _, errOut := s.cli("runbook", "import", missing)
	if code != 1 || !strings.Contains(errOut, "cannot import runbooks from "+missing) {
		t.Errorf("import of a missing folder: exit %d err %q", code, errOut)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/nope/general", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/nope/general/x.sh", []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = s.cli("runbook", "import", dir)
	if strings.Contains(errOut, "code=") || !strings.Contains(errOut, "skipped") {
		t.Errorf("import of a badly named file: exit %d err %q", code, errOut)
	}
}
