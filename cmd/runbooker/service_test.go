//go:build !windows

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// installRoot is a packaging root holding a registration token in
// /etc/runbooker/token.
func installRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/runbooker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/runbooker/token"), []byte("rbt_secret-registration-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

// shell is an executable that exists, for the unit's ExecStart to name
// (systemd-analyze checks it).
func shell(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	return sh
}

func installCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// verifyUnit runs systemd-analyze verify on a unit file, which works
// without a running systemd; warnings about the unit fail the test.
func verifyUnit(t *testing.T, unit string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze is not installed: the unit is checked by its content only")
		return
	}
	out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	var own []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, filepath.Base(unit)) {
			own = append(own, l)
		}
	}
	if err != nil || len(own) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
	}
}

func unitLines(t *testing.T, path string) (string, map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	return string(b), keys
}

func TestWorkerInstallSystemdUnit(t *testing.T) {
	root, sh := installRoot(t), shell(t)
	t.Setenv("RUNBOOKER_CAPACITY", "3") // the service has no such environment: it must be on its command line
	code, stdout, stderr := installCLI(t, "worker", "install", "--root", root, "--binary", sh,
		"--server", "https://runbooker.example.com", "--group", "onprem", "--token-file", "/etc/runbooker/token",
		"--name", "edge 1 $HOST 100%", "--drain", "2m")
	if code != 0 {
		t.Fatalf("install: exit %d\n%s%s", code, stdout, stderr)
	}
	unit := filepath.Join(root, "etc/systemd/system/runbooker-worker.service")
	text, keys := unitLines(t, unit)
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"StateDirectory": "runbooker-worker", "Restart": "on-failure", "KillSignal": "SIGTERM", "KillMode": "mixed",
		"TimeoutStopSec": "180", "After": "network-online.target", "Wants": "network-online.target",
		"Delegate": "yes", "WantedBy": "multi-user.target", "Type": "exec",
		"RuntimeDirectory": "runbooker-uids", "RuntimeDirectoryPreserve": "yes",
	} {
		if got := keys[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	if _, ok := keys["ReadWritePaths"]; ok {
		t.Errorf("ReadWritePaths with the default state and job dirs: %q", keys["ReadWritePaths"])
	}
	exec := keys["ExecStart"]
	if len(exec) != 1 {
		t.Fatalf("ExecStart: %q", exec)
	}
	for _, want := range []string{sh + " worker ", "--server=https://runbooker.example.com", "--group=onprem",
		"--capacity=3", "--drain=2m0s", `"--name=edge 1 $$HOST 100%%"`,
		"--state-dir=/var/lib/runbooker-worker", "--token-file=/etc/runbooker/token"} {
		if !strings.Contains(exec[0], want) {
			t.Errorf("ExecStart lacks %q: %s", want, exec[0])
		}
	}
	if strings.Contains(text, "rbt_secret") || strings.Contains(exec[0], "--token=") {
		t.Errorf("the token is in the unit:\n%s", text)
	}
	if strings.Contains(exec[0], "--root") || strings.Contains(exec[0], "--binary") {
		t.Errorf("install's own flags on the service's command line: %s", exec[0])
	}
	verifyUnit(t, unit)

	// Installing again updates the unit; uninstall removes it, and only it.
	if code, stdout, stderr := installCLI(t, "worker", "install", "--root", root, "--binary", sh,
		"--server", "https://runbooker.example.com", "--token-file", "/etc/runbooker/token", "--capacity", "8"); code != 0 {
		t.Fatalf("install again: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, keys := unitLines(t, unit); !strings.Contains(keys["ExecStart"][0], "--capacity=8") {
		t.Errorf("the unit was not updated: %q", keys["ExecStart"])
	}
	if code, stdout, stderr := installCLI(t, "worker", "uninstall", "--root", root); code != 0 {
		t.Fatalf("uninstall: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("the unit is still there: %v", err)
	}
	if code, _, _ := installCLI(t, "worker", "uninstall", "--root", root); code == 0 {
		t.Error("uninstall of no unit succeeded")
	}
	foreign := filepath.Join(root, "etc/systemd/system/other.service")
	if err := os.WriteFile(foreign, []byte("[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := installCLI(t, "worker", "uninstall", "--root", root, "--service", "other"); code == 0 || !strings.Contains(stderr, "not written by runbooker worker install") {
		t.Errorf("uninstall of a unit install did not write: exit %d, %s", code, stderr)
	}
	if code, _, stderr := installCLI(t, "worker", "install", "--root", root, "--service", "other", "--binary", sh,
		"--server", "https://runbooker.example.com", "--token-file", "/etc/runbooker/token"); code == 0 || !strings.Contains(stderr, "not written by runbooker worker install") {
		t.Errorf("install over a unit install did not write: exit %d, %s", code, stderr)
	}
}

func TestWorkerInstallOwnPaths(t *testing.T) {
	root, sh := installRoot(t), shell(t)
	code, stdout, stderr := installCLI(t, "worker", "install", "--root", root, "--binary", sh, "--service", "rb-edge",
		"--server", "https://runbooker.example.com", "--token-file", "/etc/runbooker/token",
		"--state-dir", "/srv/runbooker state", "--job-dir", "/var/cache/rb-jobs", "--drain", "30m")
	if code != 0 {
		t.Fatalf("install: exit %d\n%s%s", code, stdout, stderr)
	}
	unit := filepath.Join(root, "etc/systemd/system/rb-edge.service")
	_, keys := unitLines(t, unit)
	if got := keys["ReadWritePaths"]; len(got) != 1 || got[0] != `"/srv/runbooker state" /var/cache/rb-jobs` {
		t.Errorf("ReadWritePaths=%q", got)
	}
	if got := keys["TimeoutStopSec"]; len(got) != 1 || got[0] != "1860" {
		t.Errorf("TimeoutStopSec=%q, want the 30 min drain and a minute", got)
	}
	if got := keys["StateDirectory"]; len(got) != 1 || got[0] != "rb-edge" {
		t.Errorf("StateDirectory=%q", got)
	}
	if !strings.Contains(keys["ExecStart"][0], `"--state-dir=/srv/runbooker state"`) {
		t.Errorf("ExecStart: %s", keys["ExecStart"][0])
	}
	for _, d := range []string{"srv/runbooker state", "var/cache/rb-jobs"} {
		// ProtectSystem=strict cannot make a missing path writable.
		if st, err := os.Stat(filepath.Join(root, d)); err != nil || !st.IsDir() {
			t.Errorf("%s was not made: %v", d, err)
		}
	}
	verifyUnit(t, unit)
}

func TestWorkerInstallRefuses(t *testing.T) {
	root, sh := installRoot(t), shell(t)
	if err := os.WriteFile(filepath.Join(root, "etc/runbooker/empty"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"worker", "install", "--root", root, "--binary", sh}
	for _, tc := range []struct {
		name, env string
		args      []string
		want      string
	}{
		{"token on the command line", "", []string{"--server", "https://rb.example.com", "--token", "abc"}, "--token-file only"},
		{"token in the environment", "abc", []string{"--server", "https://rb.example.com"}, "--token-file only"},
		{"no server", "", []string{"--token-file", "/etc/runbooker/token"}, "--server is required"},
		{"plain http", "", []string{"--server", "http://rb.example.com", "--token-file", "/etc/runbooker/token"}, "plain http"},
		{"no capacity", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--capacity", "0"}, "--capacity"},
		{"empty token file", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/empty"}, "is empty"},
		{"missing token file", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/nope"}, "--token-file"},
		{"not registered, no token", "", []string{"--server", "https://rb.example.com"}, "--token-file is required"},
		{"state dir in /home", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--state-dir", "/home/ops/rb"}, "ProtectHome"},
		{"binary in /tmp", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--binary", "/tmp/go-build1/exe/runbooker"}, "PrivateTmp"},
		{"bad service name", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--service", "a b"}, "--service"},
		{"bad isolation", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--job-memory", "lots"}, "--job-memory"},
		{"too many warm bash", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--warm-bash", "65"}, "--warm-bash 65"},
		{"account without password", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--account", `CONTOSO\svc-rb`}, "--account-password-file"},
		{"password without account", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--account-password-file", "/etc/runbooker/token"}, "no password"},
		{"account on Linux", "", []string{"--server", "https://rb.example.com", "--token-file", "/etc/runbooker/token", "--account", "virtual"}, "Windows services"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("RUNBOOKER_TOKEN", tc.env)
			}
			code, _, stderr := installCLI(t, append(base, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, %q; want an error saying %q", code, stderr, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "etc/systemd/system")); len(entries) > 0 {
		t.Errorf("a refused install wrote %v", entries)
	}

	// A worker that registered already needs no token.
	state := filepath.Join(root, "var/lib/runbooker-worker")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "worker.json"), []byte(`{"workerId":"w1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := installCLI(t, append(base, "--server", "https://rb.example.com")...); code != 0 {
		t.Errorf("install of a registered worker: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestWorkerServiceSameChecks: `runbooker worker` itself still refuses what
// install refuses, through the checks they share.
func TestWorkerServiceSameChecks(t *testing.T) {
	root := installRoot(t)
	token, empty := filepath.Join(root, "etc/runbooker/token"), filepath.Join(root, "etc/runbooker/empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--token-file", token}, "--server is required"},
		{[]string{"--server", "http://rb.example.com", "--token-file", token}, "plain http"},
		{[]string{"--server", "https://rb.example.com", "--token-file", token, "--capacity", "0"}, "--capacity"},
		{[]string{"--server", "https://rb.example.com", "--token-file", empty}, "is empty"},
		{[]string{"--server", "https://rb.example.com", "--token-file", token, "--token", "x"}, "not both"},
		{[]string{"--server", "https://rb.example.com", "--token-file", token, "--powershell", "bash"}, "--powershell"},
	} {
		code, _, stderr := installCLI(t, append([]string{"worker"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("worker %q: exit %d, %q; want an error saying %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestWorkerInstallQuote(t *testing.T) {
	for in, want := range map[string]string{
		"--capacity=4":          "--capacity=4",
		"--name=a b":            `"--name=a b"`,
		`--name=say "hi"\now`:   `"--name=say \"hi\"\\now"`,
		"--name=$USER at 100%":  `"--name=$$USER at 100%%"`,
		"--name=$x":             "--name=$$x",
		"--name=it's;":          `"--name=it's;"`,
		"":                      `""`,
		"/srv/runbooker state/": `"/srv/runbooker state/"`,
	} {
		if got := systemdQuote(in); got != want {
			t.Errorf("systemdQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
