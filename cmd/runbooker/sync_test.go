package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/gitsync/gittest"
	rbhttp "github.com/runbooker/runbooker/http"
)

const syncedScript = `#!/usr/bin/env bash
# Synopsis: Greet someone.
# @param Name string default=world - Who to greet.
echo "hello ${RB_PARAM_Name:-world}"
`

// syncTestServer lets sync sources name repositories made in a temp dir
// and servers on loopback, as a single-tenant test server may.
func syncTestServer(t *testing.T) *server {
	return startServer(t, func(c *ServeConfig) {
		c.SyncAllowLocal = true
		hosts, err := gitsync.ParseHosts("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c.SyncAllowedHosts = hosts
	})
}

// TestSyncAPI manages a source, syncs it through POST /api/v1/sync and runs
// the synced runbook; errors come back as 4xx with the source named.
func TestSyncAPI(t *testing.T) {
	s := syncTestServer(t)
	up := gittest.New(t)
	up.Write("main", "org/general/greet.sh", syncedScript)
	up.Write("main", "org/general/greet.md", "# Greet")
	up.Commit("main", "greet")

	st, _, body := s.call("POST", "/api/v1/sync/sources", s.cred, `{"id": "rj", "url": "`+up.URL()+`", "branch": "main"}`)
	if st != 201 || !strings.Contains(body, `"hasCredentials":false`) || !strings.Contains(body, `"prefix":"rjgit-"`) {
		t.Fatalf("create source: %d %s", st, body)
	}
	st, _, body = s.call("POST", "/api/v1/sync", s.cred, `{"source": "rj"}`)
	var resp rbhttp.SyncResponse
	if st != 200 || json.Unmarshal([]byte(body), &resp) != nil || len(resp.Reports) != 1 {
		t.Fatalf("sync: %d %s", st, body)
	}
	if r := resp.Reports[0]; len(r.Added) != 1 || r.Added[0] != "rjgit-org_general_greet" || len(r.Commit) != 40 {
		t.Errorf("report: %+v", r)
	}
	rb, err := s.client.Runbook(context.Background(), "rjgit-org_general_greet")
	if err != nil || rb.SourceID != "rj" || rb.Synopsis != "Greet someone." {
		t.Fatalf("synced runbook: %+v %v", rb, err)
	}
	run := s.runJSON("rjgit-org_general_greet", map[string]any{"Name": "sync"})
	if run.Status != "Completed" || len(run.Streams) == 0 || run.Streams[0].Summary != "hello sync" {
		t.Errorf("run: %+v", run)
	}

	// No body: every source. Nothing changed upstream, so nothing changes.
	st, _, body = s.call("POST", "/api/v1/sync", s.cred, "")
	if st != 200 || !strings.Contains(body, `"unchanged":1`) || !strings.Contains(body, `"added":[]`) {
		t.Errorf("sync all: %d %s", st, body)
	}

	// Credentials are accepted, sealed and never shown.
	st, _, body = s.call("PUT", "/api/v1/sync/sources/gh", s.cred,
		`{"url": "https://127.0.0.1:1/rj.git", "prefix": "gh-", "interval": "1h", "credentials": {"username": "bot", "token": "tok-123"}}`)
	if st != 201 || !strings.Contains(body, `"hasCredentials":true`) || strings.Contains(body, "tok-123") {
		t.Errorf("put source with credentials: %d %s", st, body)
	}
	st, _, body = s.call("GET", "/api/v1/sync/sources", s.cred, "")
	if st != 200 || strings.Contains(body, "tok-123") || strings.Contains(body, "bot") || !strings.Contains(body, `"interval":"1h0m0s"`) {
		t.Errorf("list sources: %d %s", st, body)
	}
	raw, err := s.m.Store.Setting(context.Background(), runbooker.DefaultTenant, "sync-sources")
	if err != nil || strings.Contains(string(raw), "tok-123") {
		t.Errorf("stored document shows the token: %s %v", raw, err)
	}

	op, secret, err := createCredential(context.Background(), s.m.Store, runbooker.DefaultTenant, "op", runbooker.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, cred, body string
		status                   int
		want                     string
	}{
		{"POST", "/api/v1/sync", "", "", 401, "authentication"},
		{"POST", "/api/v1/sync", op.ID + ":" + secret, "", 403, "lacks the right CanSyncRunbooksWithUpstream"},
		{"GET", "/api/v1/sync/sources", op.ID + ":" + secret, "", 403, "lacks the right Admin"},
		{"POST", "/api/v1/sync", s.cred, `{"source": "nope"}`, 404, `sync source \"nope\" not found`},
		{"POST", "/api/v1/sync", s.cred, `{"sources": "rj"}`, 400, "unknown field"},
		{"POST", "/api/v1/sync", s.cred, `{"source": "gh"}`, 400, `sync source \"gh\" (https://127.0.0.1:1/rj.git): the repository cannot be read`},
		{"PUT", "/api/v1/sync/sources/rj", s.cred, `{"url": "` + up.URL() + `", "branch": "gone"}`, 200, ""},
		{"POST", "/api/v1/sync", s.cred, `{"source": "rj"}`, 400, `the repository cannot be read`},
		{"POST", "/api/v1/sync/sources", s.cred, `{"id": "rj", "url": "/x"}`, 409, "already exists"},
		{"POST", "/api/v1/sync/sources", s.cred, `{"id": "bad", "url": "ftp://x"}`, 400, "url"},
		{"PUT", "/api/v1/sync/sources/rj", s.cred, `{"id": "other", "url": "/x"}`, 400, "differs"},
		{"GET", "/api/v1/sync/sources/none", s.cred, "", 404, "not found"},
	} {
		st, _, body := s.call(c.method, c.path, c.cred, c.body)
		if st != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %d %s; want %d containing %s", c.method, c.path, c.body, st, body, c.status, c.want)
		}
	}

	// Sync all reports the failing sources without failing the call.
	st, _, body = s.call("POST", "/api/v1/sync", s.cred, "{}")
	if st != 200 || strings.Count(body, `"error":`) != 2 {
		t.Errorf("sync all with failures: %d %s", st, body)
	}
	st, _, body = s.call("DELETE", "/api/v1/sync/sources/rj", s.cred, "")
	if st != 200 || !strings.Contains(body, "rjgit-org_general_greet") {
		t.Errorf("delete source: %d %s", st, body)
	}
	if _, err := s.client.Runbook(context.Background(), "rjgit-org_general_greet"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("runbook of a deleted source: %v", err)
	}
}

// TestSyncLocalRefused: a server started without --sync-allow-local (the
// default) refuses local paths and file:// URLs with a 400 saying so, and
// loopback hosts that --sync-allowed-hosts does not list.
func TestSyncLocalRefused(t *testing.T) {
	s := startServer(t)
	up := gittest.New(t)
	for _, body := range []string{
		`{"id": "rj", "url": "` + up.Dir + `"}`,
		`{"id": "rj", "url": "` + up.URL() + `"}`,
		`{"id": "rj", "url": "/proc/self/cwd"}`,
	} {
		st, _, resp := s.call("POST", "/api/v1/sync/sources", s.cred, body)
		if st != 400 || !strings.Contains(resp, "--sync-allow-local") {
			t.Errorf("%s: %d %s", body, st, resp)
		}
	}
	st, _, resp := s.call("POST", "/api/v1/sync/sources", s.cred, `{"id": "lo", "url": "https://[::ffff:127.0.0.1]:8443/x.git"}`)
	if st != 400 || !strings.Contains(resp, "loopback") {
		t.Errorf("loopback: %d %s", st, resp)
	}
	cfg, err := serveFlags([]string{"--demo"})
	if err != nil || !cfg.SyncAllowLocal {
		t.Errorf("serve --demo does not allow local sync sources: %+v %v", cfg.SyncAllowLocal, err)
	}
	t.Setenv("RUNBOOKER_SYNC_ALLOWED_HOSTS", "git.example.com, 10.0.0.0/8")
	t.Setenv("RUNBOOKER_SYNC_ALLOW_LOCAL", "true")
	if cfg, err = serveFlags(nil); err != nil || !cfg.SyncAllowLocal || cfg.SyncAllowedHosts.Empty() {
		t.Errorf("from the environment: %+v %v", cfg, err)
	}
	t.Setenv("RUNBOOKER_SYNC_ALLOWED_HOSTS", "-oProxyCommand=x")
	if _, err = serveFlags(nil); err == nil || !strings.Contains(err.Error(), "--sync-allowed-hosts") {
		t.Errorf("a bad allowed host: %v", err)
	}
}

// TestSyncCLI drives `runbooker sync` and `runbooker sync source …`.
func TestSyncCLI(t *testing.T) {
	s := syncTestServer(t)
	up := gittest.New(t)
	up.Write("main", "org/general/greet.sh", syncedScript)
	up.Write("main", "user/general/broken.ps1", "param(\n  [string] $X = \"open\n")
	up.Commit("main", "two")

	code, out, errOut := s.cli("sync")
	if code != 0 || !strings.Contains(out, "no sync sources") {
		t.Errorf("sync without sources: %d %q %q", code, out, errOut)
	}
	code, out, errOut = s.cli("sync", "source", "set", "rj", "--url", up.Dir, "--prefix", "acme-")
	if code != 0 || !strings.Contains(out, `"kind": "local"`) {
		t.Fatalf("source set: %d %q %q", code, out, errOut)
	}
	code, out, errOut = s.cli("sync", "--source", "rj")
	if code != 1 || !strings.Contains(errOut, "sync source rj reported 1 problem(s)") || !strings.Contains(out, "rj: main@") || !strings.Contains(out, "2 added") ||
		!strings.Contains(out, "+ acme-org_general_greet") || !strings.Contains(out, "! user/general/broken.ps1: imported with a parse error") {
		t.Errorf("sync: %d %q %q", code, out, errOut)
	}
	up.Remove("main", "org/general/greet.sh")
	up.Commit("main", "remove greet")
	code, out, errOut = s.cli("sync", "--json")
	var reps []map[string]any
	if code != 1 || json.Unmarshal([]byte(out), &reps) != nil || len(reps) != 1 || !strings.Contains(out, `"acme-org_general_greet"`) {
		t.Errorf("sync --json: %d %q %q", code, out, errOut)
	}
	if code, out, _ = s.cli("sync", "sources"); code != 0 || !strings.Contains(out, "rj") || !strings.Contains(out, "synced") {
		t.Errorf("sources: %d %q", code, out)
	}

	code, _, errOut = s.cli("sync", "source", "set", "rj", "--url", up.Dir, "--prefix", "acme-", "--branch", "gone")
	if code != 0 {
		t.Fatalf("source set: %s", errOut)
	}
	code, out, errOut = s.cli("sync")
	if code != 1 || !strings.Contains(errOut, `the repository cannot be read`) {
		t.Errorf("failing sync: %d %q %q", code, out, errOut)
	}
	code, _, errOut = s.cli("sync", "--source", "none")
	if code != 1 || !strings.Contains(errOut, `sync source "none" not found`) {
		t.Errorf("unknown source: %d %q", code, errOut)
	}
	if code, out, errOut = s.cli("sync", "source", "delete", "rj"); code != 0 || !strings.Contains(out, "removed 1 runbooks") {
		t.Errorf("delete: %d %q %q", code, out, errOut)
	}
}

// A sync that reports problems exits 1; `sync --adopt` takes over runbooks
// of the same names that no source owns (an earlier `runbook import`).
func TestSyncAdoptTakesOverImportedRunbooks(t *testing.T) {
	s := syncTestServer(t)
	up := gittest.New(t)
	up.Write("main", "org/general/greet.sh", syncedScript)
	up.Write("main", "org/general/other.sh", syncedScript)
	up.Commit("main", "two")
	s.put("acme-org_general_greet", runbooker.LangBash, "#!/bin/bash\necho uploaded\n")
	if code, out, errOut := s.cli("sync", "source", "set", "rj", "--url", up.Dir, "--prefix", "acme-"); code != 0 {
		t.Fatalf("source set: %d %q %q", code, out, errOut)
	}
	code, out, errOut := s.cli("sync")
	if code != 1 || !strings.Contains(out, "the name is taken by an uploaded runbook") ||
		!strings.Contains(errOut, "sync source rj reported 1 problem(s)") {
		t.Errorf("sync onto an upload: %d %q %q", code, out, errOut)
	}
	ctx := context.Background()
	if rb, err := s.m.Store.Runbook(ctx, runbooker.DefaultTenant, "acme-org_general_greet"); err != nil || rb.SourceID != "" {
		t.Fatalf("the upload was touched without --adopt: %+v %v", rb, err)
	}
	code, out, errOut = s.cli("sync", "--adopt")
	if code != 0 || !strings.Contains(out, "1 adopted") || !strings.Contains(out, "> acme-org_general_greet (adopted)") {
		t.Errorf("sync --adopt: %d %q %q", code, out, errOut)
	}
	rb, err := s.m.Store.Runbook(ctx, runbooker.DefaultTenant, "acme-org_general_greet")
	if err != nil || rb.SourceID != "rj" || rb.Version != runbooker.ContentHash([]byte(syncedScript)) {
		t.Fatalf("after --adopt: %+v %v", rb, err)
	}
	if code, out, errOut = s.cli("sync"); code != 0 || !strings.Contains(out, "2 unchanged") {
		t.Errorf("sync after adoption: %d %q %q", code, out, errOut)
	}
}
