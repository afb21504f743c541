package gitsync_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/gitsync/gittest"
)

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if got == nil {
		got = []string{}
	}
	if want == nil {
		want = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// TestSyncHistory follows a repository through add, modify (script and side
// file), delete and rename, through a local path.
func TestSyncHistory(t *testing.T) {
	e := newEnv(t)
	up := gittest.New(t)
	up.Write("main", "README.md", "# runbooks")
	up.Write("main", "docs/org/general/not-a-runbook.ps1", "# scope folders only at the top")
	up.Write("main", "user/security/revoke-or-restore-access.ps1", psRevoke)
	up.Write("main", "user/security/revoke-or-restore-access.permissions.json", permissions)
	up.Write("main", "user/security/revoke-or-restore-access.md", "# Revoke\nBlocks sign-in.")
	up.Write("main", "device/general/list-stale-devices.py", pyReport)
	up.Write("main", "org/general/disk-space-report.sh", shDisk)
	c1 := up.Commit("main", "three runbooks")
	e.source(gitsync.Source{ID: "rj", URL: up.Dir, Branch: "main"})

	rep := e.sync("rj")
	if rep.Commit != c1 || rep.Branch != "main" {
		t.Errorf("commit %s branch %s, want %s main", rep.Commit, rep.Branch, c1)
	}
	same(t, "added", rep.Added, []string{"rjgit-device_general_list-stale-devices", "rjgit-org_general_disk-space-report", "rjgit-user_security_revoke-or-restore-access"})
	if len(rep.Errors) != 0 {
		t.Errorf("errors: %+v", rep.Errors)
	}
	rb := e.runbook("rjgit-user_security_revoke-or-restore-access")
	if rb.SourceID != "rj" || rb.Meta.SourceCommit != c1 || rb.Meta.SourcePath != "user/security/revoke-or-restore-access.ps1" {
		t.Errorf("source fields: %q %q %q", rb.SourceID, rb.Meta.SourceCommit, rb.Meta.SourcePath)
	}
	if rb.Meta.Markdown != "# Revoke\nBlocks sign-in." || !strings.Contains(string(rb.Meta.Permissions), "User.ReadWrite.All") {
		t.Errorf("side files: markdown %q permissions %s", rb.Meta.Markdown, rb.Meta.Permissions)
	}
	if rb.Language != runbooker.LangPowerShell || rb.Meta.Synopsis != "Revoke or restore a user's access." || len(rb.Meta.Parameters) != 3 {
		t.Errorf("metadata: %s %q %d parameters", rb.Language, rb.Meta.Synopsis, len(rb.Meta.Parameters))
	}

	// A re-run with nothing new changes nothing.
	before := e.snapshot()
	rep = e.sync("rj")
	if len(rep.Added)+len(rep.Updated)+len(rep.Removed) != 0 || rep.Unchanged != 3 {
		t.Errorf("re-sync: %+v", rep)
	}
	if after := e.snapshot(); !maps.Equal(before, after) {
		t.Errorf("re-sync changed the store:\n%v\n%v", before, after)
	}
	// So does one after a restart, which compares contents and metadata
	// instead of remembering blobs, of a commit that touches no runbook.
	up.Write("main", "CHANGELOG.md", "nothing for runbooks")
	up.Commit("main", "docs only")
	e.sy = gitsync.New(e.store, e.keys, testConfig(filepath.Join(e.dir, "git")), quiet)
	if rep = e.sync("rj"); rep.Unchanged != 3 || len(rep.Updated) != 0 {
		t.Errorf("re-sync after restart: %+v", rep)
	}
	if after := e.snapshot(); !maps.Equal(before, after) {
		t.Errorf("re-sync after restart changed the store:\n%v\n%v", before, after)
	}

	// A commit that touches only one runbook's script, another's side file,
	// deletes one and renames one.
	up.Write("main", "org/general/disk-space-report.sh", shDisk+"echo done\n")
	up.Write("main", "user/security/revoke-or-restore-access.md", "# Revoke\nBlocks sign-in and revokes tokens.")
	up.Remove("main", "device/general/list-stale-devices.py")
	up.Write("main", "user/general/untouched.py", pyReport)
	c2 := up.Commit("main", "edits")
	rep = e.sync("rj")
	same(t, "added", rep.Added, []string{"rjgit-user_general_untouched"})
	same(t, "updated", rep.Updated, []string{"rjgit-org_general_disk-space-report", "rjgit-user_security_revoke-or-restore-access"})
	same(t, "removed", rep.Removed, []string{"rjgit-device_general_list-stale-devices"})
	if e.runbook("rjgit-org_general_disk-space-report").Meta.SourceCommit != c2 {
		t.Error("updated runbook does not carry the new commit")
	}

	before = e.snapshot()
	up.Rename("main", "org/general/disk-space-report.sh", "org/storage/disk-space-report.sh")
	up.Write("main", "NEWS.md", "a commit that changes no runbook")
	c3 := up.Commit("main", "rename")
	rep = e.sync("rj")
	same(t, "added", rep.Added, []string{"rjgit-org_storage_disk-space-report"})
	same(t, "removed", rep.Removed, []string{"rjgit-org_general_disk-space-report"})
	if len(rep.Updated) != 0 || rep.Unchanged != 2 || rep.Commit != c3 {
		t.Errorf("rename: %+v", rep)
	}
	after := e.snapshot()
	for _, n := range []string{"rjgit-user_general_untouched", "rjgit-user_security_revoke-or-restore-access"} {
		if before[n] != after[n] {
			t.Errorf("%s changed though its files did not: %s → %s", n, before[n], after[n])
		}
	}
}

// TestSyncFileErrors: a script that does not parse is imported with its
// error; misplaced scripts and invalid names are reported and skipped.
func TestSyncFileErrors(t *testing.T) {
	e := newEnv(t)
	up := gittest.New(t)
	up.Write("main", "user/general/broken.ps1", psBroken)
	up.Write("main", "org/stray.sh", shDisk)
	up.Write("main", "org/Bad Category/x.sh", shDisk)
	up.Write("main", "org/general/deep/er.sh", shDisk)
	up.Write("main", "org/general/fine.sh", shDisk)
	up.Write("main", "org/general/notes.txt", "not a script")
	up.Commit("main", "mixed")
	e.source(gitsync.Source{ID: "rj", URL: up.URL()})
	rep := e.sync("rj")
	same(t, "added", rep.Added, []string{"rjgit-org_general_fine", "rjgit-user_general_broken"})
	got := map[string]gitsync.FileError{}
	for _, fe := range rep.Errors {
		got[fe.Path] = fe
	}
	if fe := got["user/general/broken.ps1"]; !fe.Imported || !strings.Contains(fe.Message, "parse error") {
		t.Errorf("broken script: %+v", fe)
	}
	for _, p := range []string{"org/stray.sh", "org/Bad Category/x.sh", "org/general/deep/er.sh"} {
		if fe, ok := got[p]; !ok || fe.Imported {
			t.Errorf("%s: %+v (ok %v)", p, fe, ok)
		}
	}
	if len(rep.Errors) != 4 {
		t.Errorf("errors: %+v", rep.Errors)
	}
	if rb := e.runbook("rjgit-user_general_broken"); rb.Meta.ParseError == nil {
		t.Error("broken runbook stored without its ParseError")
	}
	// Still listed on a re-run, still unchanged.
	rep = e.sync("rj")
	if rep.Unchanged != 2 || len(rep.Errors) != 4 {
		t.Errorf("re-sync: %+v", rep)
	}
}

// TestSyncBranchAndSubfolder: changing a source's branch makes the next
// sync reflect that branch; an empty branch means the default branch; a
// subfolder is honoured, and a missing one is an error.
func TestSyncBranchAndSubfolder(t *testing.T) {
	e := newEnv(t)
	up := gittest.New(t)
	up.Write("main", "runbooks/org/general/a.sh", shDisk)
	up.Write("main", "runbooks/org/general/b.sh", shDisk)
	up.Write("main", "org/general/outside.sh", shDisk)
	up.Commit("main", "main")
	up.Fork("main", "next")
	up.Remove("next", "runbooks/org/general/a.sh")
	up.Write("next", "runbooks/org/general/b.sh", shDisk+"# next\n")
	up.Write("next", "runbooks/user/general/c.py", pyReport)
	up.Commit("next", "next")

	e.source(gitsync.Source{ID: "rj", URL: up.Dir, Subfolder: "runbooks/"})
	rep := e.sync("rj")
	if rep.Branch != "main" {
		t.Errorf("default branch resolved to %q", rep.Branch)
	}
	same(t, "added", rep.Added, []string{"rjgit-org_general_a", "rjgit-org_general_b"})
	if p := e.runbook("rjgit-org_general_a").Meta.SourcePath; p != "runbooks/org/general/a.sh" {
		t.Errorf("source path %q", p)
	}

	e.source(gitsync.Source{ID: "rj", URL: up.Dir, Branch: "next", Subfolder: "runbooks"})
	rep = e.sync("rj")
	same(t, "added", rep.Added, []string{"rjgit-user_general_c"})
	same(t, "updated", rep.Updated, []string{"rjgit-org_general_b"})
	same(t, "removed", rep.Removed, []string{"rjgit-org_general_a"})

	e.source(gitsync.Source{ID: "rj", URL: up.Dir, Branch: "next", Subfolder: "missing"})
	_, err := e.sy.Sync(e.ctx, tenant, "rj")
	if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), `subfolder "missing"`) {
		t.Errorf("missing subfolder: %v", err)
	}
	same(t, "after a failed sync", e.names(runbooker.RunbookFilter{SourceID: "rj"}), []string{"rjgit-org_general_b", "rjgit-user_general_c"})
}

// TestSyncSourcesApart: two sources with their own prefixes and an uploaded
// runbook never touch each other, even when a name collides.
func TestSyncSourcesApart(t *testing.T) {
	e := newEnv(t)
	a, b := gittest.New(t), gittest.New(t)
	a.Write("main", "org/general/shared-name.sh", shDisk)
	a.Write("main", "org/general/taken.sh", shDisk)
	a.Commit("main", "a")
	b.Write("main", "org/general/shared-name.sh", shDisk)
	b.Commit("main", "b")
	upload := func(name string) {
		if _, _, err := e.putUpload(name); err != nil {
			t.Fatal(err)
		}
	}
	upload("org_general_local")
	upload("rjgit-org_general_taken") // an upload that happens to carry the prefix

	e.source(gitsync.Source{ID: "a", URL: a.Dir})
	e.source(gitsync.Source{ID: "b", URL: b.URL(), Prefix: "acme-"})
	if _, _, err := e.sy.PutSource(e.ctx, tenant, gitsync.SourceInput{Source: gitsync.Source{ID: "c", URL: b.Dir, Prefix: "acme-"}}); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("duplicate prefix: %v", err)
	}
	rep := e.sync("a")
	same(t, "a added", rep.Added, []string{"rjgit-org_general_shared-name"})
	if len(rep.Errors) != 1 || rep.Errors[0].Path != "org/general/taken.sh" || !strings.Contains(rep.Errors[0].Message, "uploaded") {
		t.Errorf("a errors: %+v", rep.Errors)
	}
	same(t, "b added", e.sync("b").Added, []string{"acme-org_general_shared-name"})

	a.Remove("main", "org/general/shared-name.sh")
	a.Remove("main", "org/general/taken.sh")
	a.Commit("main", "empty a")
	same(t, "a removed", e.sync("a").Removed, []string{"rjgit-org_general_shared-name"})
	same(t, "left", e.names(runbooker.RunbookFilter{}), []string{"acme-org_general_shared-name", "org_general_local", "rjgit-org_general_taken"})
	if rb := e.runbook("rjgit-org_general_taken"); rb.SourceID != "" {
		t.Errorf("upload taken over by %q", rb.SourceID)
	}

	// With many new names the taken ones are found by one listing.
	big := gittest.New(t)
	for i := range 60 {
		big.Write("main", fmt.Sprintf("org/general/n%02d.sh", i), shDisk)
	}
	big.Write("main", "org/general/taken.sh", shDisk)
	big.Commit("main", "many")
	upload("big-org_general_taken")
	e.source(gitsync.Source{ID: "big", URL: big.Dir, Prefix: "big-"})
	rep = e.sync("big")
	if len(rep.Added) != 60 || len(rep.Errors) != 1 || rep.Errors[0].Path != "org/general/taken.sh" {
		t.Errorf("big: %d added, errors %+v", len(rep.Added), rep.Errors)
	}
}
