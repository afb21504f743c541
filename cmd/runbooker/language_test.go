package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
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

// A job for a language no online worker of its group can run is not taken
// by the workers that cannot (they run the younger jobs they can), stays
// New with a reason that says why, and goes to the first capable worker.
func TestJobWaitsForAWorkerWithItsInterpreter(t *testing.T) {
	if _, err := exec.LookPath("pwsh"); err == nil {
		t.Skip("pwsh is installed: the worker could run PowerShell")
	}
	s := startServer(t)
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	startWorker(t, s.url, token, t.TempDir()).id(t)
	waitWorkersOnline(t, s.client, "onprem", 1)
	ctx := context.Background()
	s.put("org_general_ps-only", runbooker.LangPowerShell, "\"from pwsh\"\n")
	s.put("org_general_sh", runbooker.LangBash, "#!/bin/bash\necho from bash\n")
	ps, err := s.client.Start(ctx, "org_general_ps-only", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := s.client.Start(ctx, "org_general_sh", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	if j := s.waitJob(sh.JobID); j.Status != runbooker.StatusCompleted {
		t.Fatalf("the bash job behind the PowerShell one: %s %q", j.Status, j.Exception)
	}
	j, err := s.client.Job(ctx, ps.JobID)
	if err != nil || j.Status != runbooker.StatusNew ||
		!strings.Contains(j.StatusReason, "no online worker in group onprem has a PowerShell (pwsh) interpreter") {
		t.Fatalf("the PowerShell job: %v %s %q %q", err, j.Status, j.StatusReason, j.Exception)
	}
	// A worker that has pwsh (here one that says so) claims it.
	reg, err := rbhttp.Register(ctx, s.url, nil, rbhttp.RegisterRequest{Token: token, Name: "pwsh-box",
		Languages: []runbooker.Language{runbooker.LangPowerShell}})
	if err != nil {
		t.Fatal(err)
	}
	wc, err := rbhttp.NewWorkerClient(s.url, reg.WorkerID, reg.Secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	wc.Wait = time.Second
	as, err := wc.Claim(ctx, 5)
	if err != nil || len(as) != 1 || as[0].Job.ID != ps.JobID {
		t.Fatalf("the capable worker's claim: %v %+v", err, as)
	}
}
