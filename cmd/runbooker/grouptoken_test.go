package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// TestWorkerTokenFile (issue 11 item 8): a worker takes its registration
// token from --token-file (or RUNBOOKER_TOKEN), so it is not in its
// command line; a token limited to one use registers one worker, and the
// second is told why it cannot register.
func TestWorkerTokenFile(t *testing.T) {
	s := startServer(t)
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem", TokenMaxUses: 1})
	tf := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tf, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, s.url, "", t.TempDir(), "--token-file", tf)
	w.id(t)
	waitWorkersOnline(t, s.client, "onprem", 1)
	if cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(w.cmd.Process.Pid) + "/cmdline"); err == nil && bytes.Contains(cmdline, []byte(token)) {
		t.Errorf("the token is in the worker's command line: %q", cmdline)
	}

	w2 := startWorker(t, s.url, "", t.TempDir(), "--token-file", tf)
	done := make(chan error, 1)
	go func() { done <- w2.cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(w2.log.String(), "has been used 1 times, its limit") {
			t.Errorf("second worker with a one-use token: %v\n%s", err, w2.log.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the second worker did not give up:\n%s", w2.log.String())
	}

	// The flag layer: RUNBOOKER_TOKEN, and a token given twice or empty.
	base := []string{"--server", s.url}
	t.Setenv("RUNBOOKER_TOKEN", "rbg_from_env")
	if c, err := workerFlags(base); err != nil || c.Token != "rbg_from_env" {
		t.Errorf("RUNBOOKER_TOKEN: %+v, %v", c.Token, err)
	}
	if _, err := workerFlags(append(base, "--token-file", tf)); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("RUNBOOKER_TOKEN and --token-file: %v", err)
	}
	os.Unsetenv("RUNBOOKER_TOKEN")
	if c, err := workerFlags(append(base, "--token-file", tf)); err != nil || c.Token != token {
		t.Errorf("--token-file: %q, %v", c.Token, err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := workerFlags(append(base, "--token-file", empty)); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty --token-file: %v", err)
	}
}

// TestGroupTokenFlags (issue 11 item 8): `group create` (offline) and
// `group rotate-token` (through the API) set the token's expiry and
// maximum uses.
func TestGroupTokenFlags(t *testing.T) {
	s := startServer(t)
	createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	code, out, errText := s.cli("group", "rotate-token", "onprem", "--token-max-uses", "2", "--token-expires", "1h")
	if code != 0 || !strings.HasPrefix(out, "rbg_") || !strings.Contains(errText, "for 2 registrations") {
		t.Fatalf("rotate-token with limits: %d %q %q", code, out, errText)
	}
	g, err := s.client.Group(context.Background(), "onprem")
	if err != nil || g.TokenMaxUses != 2 || g.TokenUses != 0 || time.Until(g.TokenExpiresAt) < 59*time.Minute || time.Until(g.TokenExpiresAt) > time.Hour {
		t.Fatalf("group after rotate-token: %+v, %v", g, err)
	}
	if code, _, errText := s.cli("group", "rotate-token", "onprem", "--token-expires", "soon"); code == 0 || !strings.Contains(errText, "neither a duration") {
		t.Errorf("rotate-token --token-expires soon: %d %q", code, errText)
	}

	dir := t.TempDir()
	var o, e bytes.Buffer
	code = run(context.Background(), []string{"group", "create", "edge", "--data", dir, "--token-max-uses", "5",
		"--token-expires", "2099-01-02T03:04:05Z"}, nil, &o, &e)
	if code != 0 || !strings.Contains(o.String(), "(valid until 2099-01-02T03:04:05Z, for 5 registrations)") {
		t.Fatalf("group create with limits: %d %q %q", code, o.String(), e.String())
	}
	eng, closeFn, err := offlineEngine(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	eg, err := eng.Group(context.Background(), runbooker.DefaultTenant, "edge")
	if err != nil || eg.TokenMaxUses != 5 || !eg.TokenExpiresAt.Equal(time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("stored group: %+v, %v", eg, err)
	}
}
