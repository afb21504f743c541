package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// PowerShell runbooks where no worker has pwsh: `runbook import` and
// `runbook list` say so, once per reason, and mark the runbooks.
func TestRunbooksNoWorkerCanRunAreWarnedOf(t *testing.T) {
	s := startServer(t)
	s.m.Engine.SetCloudLanguages([]runbooker.Language{runbooker.LangBash, runbooker.LangPython})
	dir := t.TempDir()
	for path, src := range map[string]string{
		"org/general/one.ps1": "param([string] $Name)\n\"hi $Name\"\n",
		"org/general/two.ps1": "\"two\"\n",
		"org/general/fine.sh": "#!/bin/bash\necho fine\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const want = "warning: 2 runbooks cannot run now: the built-in group cloud has no PowerShell (pwsh) interpreter"
	code, out, errOut := s.cli("runbook", "import", dir)
	if code != 0 || !strings.Contains(errOut, want) || strings.Count(errOut, "warning:") != 1 {
		t.Errorf("import: %d %q %q", code, out, errOut)
	}
	code, out, errOut = s.cli("runbook", "list")
	if code != 0 || !strings.Contains(errOut, want) {
		t.Errorf("list: %d %q %q", code, out, errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		marked := strings.Contains(line, "no worker can run it now")
		if strings.HasPrefix(line, "org_general_fine") == marked && line != "" {
			t.Errorf("list line %q: marked %v", line, marked)
		}
	}
}
