package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

func TestCredentialCreateOfflinePrintsSecretOnce(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"credential", "create", "--name", "ops", "--role", "operator", "--data", dir}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	id, secret, ok := strings.Cut(lines[len(lines)-1], ":")
	if !ok || len(id) != 32 || len(secret) != 43 {
		t.Fatalf("last line %q is not ID:SECRET", lines[len(lines)-1])
	}
	// The server started on the same data dir accepts it; only its hash is stored.
	s := startServer(t, func(c *ServeConfig) { c.DataDir = dir; c.DB = "sqlite:" + filepath.Join(dir, "runbooker.db") })
	c, err := s.m.Store.Credential(context.Background(), id)
	if err != nil || c.Role != runbooker.RoleOperator || c.SecretHash == secret || !runbooker.SecretMatches(secret, c.SecretHash) {
		t.Fatalf("stored credential: %v %+v", err, c)
	}
	db, _ := os.ReadFile(filepath.Join(dir, "runbooker.db"))
	if bytes.Contains(db, []byte(secret)) {
		t.Error("the database file contains the plaintext secret")
	}
	for _, args := range [][]string{{"credential", "create", "--data", dir}, {"credential", "create", "--name", "x", "--role", "root", "--data", dir}, {"credential"}} {
		out.Reset()
		errb.Reset()
		if code := run(context.Background(), args, nil, &out, &errb); code == 0 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

func TestCLIRunStartJobAndImport(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	files := map[string]string{
		"user/general/greet.py":  pyGreet,
		"org/general/streams.sh": bashStreams,
		"org/general/fails.sh":   "#!/bin/bash\necho 'disk full' >&2\nexit 2\n",
		"org/general/README.md":  "not a runbook",
		"org/Bad Dir/thing.sh":   "echo",
	}
	for p, c := range files {
		full := filepath.Join(dir, p)
		_ = os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := s.cli("runbook", "import", dir, "--prefix", "rjgit-")
	if code == 0 || !strings.Contains(errOut, "thing.sh") || !strings.Contains(out, "imported 3 runbooks") {
		t.Errorf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, name := range []string{"rjgit-user_general_greet", "rjgit-org_general_streams", "rjgit-org_general_fails"} {
		if _, err := s.client.Runbook(context.Background(), name); err != nil {
			t.Errorf("imported %s: %v", name, err)
		}
	}
	code, out, errOut = s.cli("run", "rjgit-user_general_greet", "-p", "Name=Grace", "-p", "Times=2", "-p", "Loud:=true")
	if code != 0 || out != "HELLO Grace\nHELLO Grace\n" {
		t.Errorf("run: exit %d out %q err %q", code, out, errOut)
	}
	code, _, errOut = s.cli("run", "rjgit-org_general_fails")
	if code != 1 || !strings.Contains(errOut, "Failed") || !strings.Contains(errOut, "disk full (exit status 2)") {
		t.Errorf("failing run: exit %d err %q", code, errOut)
	}
	code, _, errOut = s.cli("run", "rjgit-user_general_greet", "-p", "Nmae=x")
	if code != 1 || !strings.Contains(errOut, "Nmae") {
		t.Errorf("bad parameter: exit %d err %q", code, errOut)
	}
	code, out, _ = s.cli("start", "rjgit-org_general_streams")
	id := strings.TrimSpace(out)
	if code != 0 || len(id) != 36 {
		t.Fatalf("start: %d %q", code, out)
	}
	code, out, errOut = s.cli("job", "tail", id)
	if code != 0 || out != "first output\nlast output\n" || !strings.Contains(errOut, "VERBOSE: a verbose line") ||
		!strings.Contains(errOut, "job "+id+" Completed") {
		t.Errorf("tail: %d out %q err %q", code, out, errOut)
	}
	// Tailing a job that failed says how it ended and exits 1, as run does.
	code, out, _ = s.cli("start", "rjgit-org_general_fails")
	failed := strings.TrimSpace(out)
	code, _, errOut = s.cli("job", "tail", failed)
	if code != 1 || !strings.Contains(errOut, "job "+failed+" Failed: disk full (exit status 2)") {
		t.Errorf("tail of a failed job: exit %d err %q", code, errOut)
	}
	for verb, want := range map[string]string{"status": "Completed\n", "output": "first output\nlast output\n", "exception": ""} {
		code, out, errOut = s.cli("job", verb, id)
		if code != 0 || out != want {
			t.Errorf("job %s: %d %q %q", verb, code, out, errOut)
		}
	}
	code, out, _ = s.cli("job", "streams", id, "--types", "Warning")
	if code != 0 || !strings.Contains(out, "a warning line") || strings.Contains(out, "first output") {
		t.Errorf("job streams --types: %d %q", code, out)
	}
	code, _, errOut = s.cli("job", "status", "00000000-0000-4000-8000-000000000000")
	if code != 1 || errOut == "" {
		t.Errorf("unknown job: %d %q", code, errOut)
	}
	t.Setenv("RUNBOOKER_CREDENTIAL", "")
	var o, e bytes.Buffer
	if code := run(context.Background(), []string{"job", "status", id}, nil, &o, &e); code != 1 || !strings.Contains(e.String(), "RUNBOOKER_CREDENTIAL") {
		t.Errorf("no credential: %d %q", code, e.String())
	}
}

func TestDemoImportsAndRuns(t *testing.T) {
	s := startServer(t, func(c *ServeConfig) { c.Demo = true })
	var out bytes.Buffer
	if err := s.m.firstStart(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	i := strings.Index(text, "RUNBOOKER_CREDENTIAL=")
	if i < 0 || !strings.Contains(text, "curl -s -u") {
		t.Fatalf("demo banner:\n%s", text)
	}
	cred := strings.Fields(text[i+len("RUNBOOKER_CREDENTIAL="):])[0]
	c, err := rbhttp.NewClient(s.url, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	rbs, err := c.Runbooks(context.Background(), runbooker.RunbookFilter{})
	if err != nil || len(rbs) < 4 {
		t.Fatalf("demo runbooks: %v %d", err, len(rbs))
	}
	for _, rb := range rbs {
		if rb.ParseError != nil {
			t.Errorf("demo runbook %s does not parse: %v", rb.Name, rb.ParseError)
		}
	}
	resp, err := c.Run(context.Background(), "user_mail_suggest-mail-aliases", map[string]any{
		"UserName": "jane@contoso.com", "FirstName": "Jäne", "LastName": "Doe", "Domains": []string{"contoso.com"}}, "")
	if err != nil || resp.Status != "Completed" {
		t.Fatalf("demo run: %v %+v", err, resp)
	}
	found := false
	for _, r := range resp.Streams {
		found = found || r.Summary == "jaene.doe@contoso.com"
	}
	if !found {
		t.Errorf("demo aliases: %+v", resp.Streams)
	}
	resp, err = c.Run(context.Background(), "org_network_check-endpoint", map[string]any{"Port": 1}, "")
	if err != nil || resp.Status != "Failed" {
		t.Fatalf("demo failure: %v %+v", err, resp)
	}
}

func TestSubcommandHelpListsItsFlags(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "-h"}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "-listen") || !strings.Contains(errb.String(), "RUNBOOKER_") {
		t.Errorf("serve -h: %d %q", code, errb.String())
	}
}
