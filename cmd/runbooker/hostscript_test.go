package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

func TestWorkerHostScriptCommandAndFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Program Files", "Runbooker", "rbhost.ps1")
	var out bytes.Buffer
	if err := cmdWorker(t.Context(), []string{"host-script", path}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Set-AuthenticodeSignature") || !strings.Contains(out.String(), "--host-script") {
		t.Errorf("host-script says: %s", out.String())
	}
	base := []string{"--server", "https://rb.example.com", "--token", "rbg_x"}
	c, err := workerFlags(append(base, "--host-script", path))
	if err != nil || c.HostScript != path {
		t.Fatalf("--host-script of a written host: %v %q", err, c.HostScript)
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(b, "\nWrite-Output 'extra'\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := workerFlags(append(base, "--host-script", path)); err == nil || !strings.Contains(err.Error(), "--host-script") {
		t.Errorf("a changed host script was accepted: %v", err)
	}
	if err := cmdWorker(t.Context(), []string{"host-script"}, &out, &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("host-script without a path: %v", err)
	}
}

func TestGroupSetRunAsWarnsOfWindowsWorkers(t *testing.T) {
	var b bytes.Buffer
	workers := []rbhttp.WorkerView{{Worker: runbooker.Worker{Name: "WIN-01", OS: "windows"}}, {Worker: runbooker.Worker{Name: "lin-01", OS: "linux"}}}
	warnWindowsWorkers(&b, "onprem", "svc", workers)
	if got := b.String(); !strings.Contains(got, "WIN-01") || strings.Contains(got, "lin-01") || !strings.Contains(got, `"svc"`) {
		t.Errorf("warning: %q", got)
	}
	b.Reset()
	warnWindowsWorkers(&b, "onprem", "svc", workers[1:])
	if b.Len() != 0 {
		t.Errorf("a warning without Windows workers: %q", b.String())
	}
}
