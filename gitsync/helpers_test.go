package gitsync_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/keyring"
	"github.com/runbooker/runbooker/sqlite"
)

const tenant = runbooker.DefaultTenant

// Runbook sources as they appear in RealmJoin's repository.
const (
	psRevoke = `<#
  .SYNOPSIS
  Revoke or restore a user's access.

  .DESCRIPTION
  Blocks sign-in and revokes refresh tokens, or undoes that.
#>
#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.3" }
param(
    [Parameter(Mandatory = $true)]
    [string] $UserName,
    [bool] $Revoke = $true,
    [string] $CallerName
)
"revoking $UserName"
`
	pyReport = `#!/usr/bin/env python3
"""List devices that did not check in.

Args:
    Days: How many days without check-in count as stale.
"""


def main(Days: int = 30):
    print(f"stale after {Days} days")
`
	shDisk = `#!/usr/bin/env bash
# Synopsis: Report file systems that are running out of space.
# @param WarnPercent int default=80 range=1..100 - Usage that triggers a warning.
set -euo pipefail
df -h
`
	psBroken = `param(
    [Parameter(Mandatory = $true)]
    [string] $UserName = "never closed
`
	permissions = `{"Permissions": [{"Name": "User.ReadWrite.All",},],}`
)

// testConfig is the syncers' configuration in tests: repositories made in
// a temp dir are read from their paths, and servers listen on loopback.
func testConfig(dir string) gitsync.Config {
	hosts, err := gitsync.ParseHosts("127.0.0.1, ::1")
	if err != nil {
		panic(err)
	}
	return gitsync.Config{Dir: dir, AllowLocal: true, AllowedHosts: hosts}
}

// env is a syncer over a fresh SQLite store.
type env struct {
	t     *testing.T
	ctx   context.Context
	store *sqlite.DB
	sy    *gitsync.Syncer
	keys  *keyring.Keyring
	dir   string
	logs  *logBuffer // what the syncer logged
}

// logBuffer collects log output written from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "runbooker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.EnsureTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.New(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	sy := gitsync.New(st, keys, testConfig(filepath.Join(dir, "git")), slog.New(slog.NewTextHandler(logs, nil)))
	return &env{t: t, ctx: ctx, store: st, sy: sy, keys: keys, dir: dir, logs: logs}
}

// source creates a sync source or fails the test.
func (e *env) source(src gitsync.Source) {
	e.t.Helper()
	if _, _, err := e.sy.PutSource(e.ctx, tenant, gitsync.SourceInput{Source: src}); err != nil {
		e.t.Fatalf("put source %s: %v", src.ID, err)
	}
}

// sync syncs a source or fails the test.
func (e *env) sync(id string) *gitsync.Report {
	e.t.Helper()
	rep, err := e.sy.Sync(e.ctx, tenant, id)
	if err != nil {
		e.t.Fatalf("sync %s: %v", id, err)
	}
	return rep
}

// runbook returns a stored runbook or fails the test.
func (e *env) runbook(name string) *runbooker.Runbook {
	e.t.Helper()
	rb, err := e.store.Runbook(e.ctx, tenant, name)
	if err != nil {
		e.t.Fatalf("runbook %s: %v", name, err)
	}
	return rb
}

// names lists the tenant's runbook names matching f.
func (e *env) names(f runbooker.RunbookFilter) []string {
	e.t.Helper()
	rbs, err := e.store.ListRunbooks(e.ctx, tenant, f)
	if err != nil {
		e.t.Fatal(err)
	}
	out := []string{}
	for _, rb := range rbs {
		out = append(out, rb.Name)
	}
	return out
}

// snapshot maps each runbook name to its version and update time.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	rbs, err := e.store.ListRunbooks(e.ctx, tenant, runbooker.RunbookFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, rb := range rbs {
		out[rb.Name] = rb.Version + "@" + rb.UpdatedAt.String() + "@" + rb.Meta.SourceCommit
	}
	return out
}

// putUpload stores a runbook the way an API upload does (no source).
func (e *env) putUpload(name string) (*runbooker.Runbook, runbooker.PutRunbookResult, error) {
	return catalog.Put(e.ctx, e.store, catalog.PutInput{TenantID: tenant, Name: name, Language: runbooker.LangBash, Content: []byte(shDisk)})
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
