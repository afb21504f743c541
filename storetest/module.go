package storetest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/runbooker/runbooker"
)

// Modules are keyed by tenant, kind, name (as ModuleNameKey matches it)
// and version; content is shared by hash and goes with its last record.
func testModules(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	one, two := []byte("zip one"), []byte("zip two")
	put := func(tenant string, kind runbooker.ModuleKind, name, version string, content []byte) *runbooker.ModuleRecord {
		t.Helper()
		m := &runbooker.ModuleRecord{TenantID: tenant, Kind: kind, Name: name, Version: version,
			SHA256: runbooker.ContentHash(content), FileName: name + ".zip"}
		ok(t, s.PutModule(ctx, m, content), "PutModule "+name)
		if m.Size != int64(len(content)) || m.UploadedAt.IsZero() {
			t.Fatalf("PutModule did not fill in size and time: %+v", m)
		}
		return m
	}
	put(tenantA, runbooker.ModulePowerShell, "RealmJoin.RunbookHelper", "0.8.3", one)
	put(tenantA, runbooker.ModulePython, "Greet_Lib", "1.0", one) // the same content, shared
	withDeps := &runbooker.ModuleRecord{TenantID: tenantB, Kind: runbooker.ModulePython, Name: "app", Version: "2",
		SHA256: runbooker.ContentHash(two), Requires: []string{"greet-lib", "six==1.16.0"}}
	ok(t, s.PutModule(ctx, withDeps, two), "PutModule with requirements")
	if got, err := s.Module(ctx, tenantB, runbooker.ModulePython, "app", "2"); err != nil || !slices.Equal(got.Requires, withDeps.Requires) {
		t.Errorf("Requires read back: %+v %v", got, err)
	}
	put(tenantB, runbooker.ModulePython, "greet-lib", "1.0", two)

	wrong := &runbooker.ModuleRecord{TenantID: tenantA, Kind: runbooker.ModulePython, Name: "x", Version: "1", SHA256: "00"}
	wantCode(t, s.PutModule(ctx, wrong, one), runbooker.EINVALID, "PutModule with a wrong hash")

	m, err := s.Module(ctx, tenantA, runbooker.ModulePowerShell, "realmjoin.runbookhelper", "0.8.3")
	ok(t, err, "Module, any case")
	if m.Name != "RealmJoin.RunbookHelper" || m.SHA256 != runbooker.ContentHash(one) || m.Size != int64(len(one)) || m.FileName != "RealmJoin.RunbookHelper.zip" {
		t.Errorf("Module = %+v", m)
	}
	if _, err := s.Module(ctx, tenantA, runbooker.ModulePython, "greet.lib", "1.0"); err != nil {
		t.Errorf("a Python name matches PEP 503-normalised: %v", err)
	}
	_, err = s.Module(ctx, tenantA, runbooker.ModulePowerShell, "RealmJoin.RunbookHelper", "0.8.4")
	wantCode(t, err, runbooker.ENOTFOUND, "Module of another version")

	list, err := s.ListModules(ctx, tenantA)
	ok(t, err, "ListModules")
	if len(list) != 2 || list[0].Kind != runbooker.ModulePowerShell || list[1].Kind != runbooker.ModulePython {
		t.Fatalf("ListModules = %+v", list)
	}
	b, err := s.ModuleContent(ctx, tenantB, runbooker.ContentHash(two))
	ok(t, err, "ModuleContent")
	if !bytes.Equal(b, two) {
		t.Errorf("ModuleContent = %q", b)
	}
	_, err = s.ModuleContent(ctx, tenantB, runbooker.ContentHash(one))
	wantCode(t, err, runbooker.ENOTFOUND, "ModuleContent of another tenant")

	// A replaced version points at new content; content stays while any
	// record of the tenant points at it.
	put(tenantA, runbooker.ModulePowerShell, "RealmJoin.RunbookHelper", "0.8.3", two)
	if _, err := s.ModuleContent(ctx, tenantA, runbooker.ContentHash(one)); err != nil {
		t.Errorf("content still used by the Python record went away: %v", err)
	}
	ok(t, s.DeleteModule(ctx, tenantA, runbooker.ModulePython, "GREET-LIB", "1.0"), "DeleteModule")
	_, err = s.ModuleContent(ctx, tenantA, runbooker.ContentHash(one))
	wantCode(t, err, runbooker.ENOTFOUND, "ModuleContent after its last record went")
	wantCode(t, s.DeleteModule(ctx, tenantA, runbooker.ModulePython, "greet-lib", "1.0"), runbooker.ENOTFOUND, "DeleteModule twice")
	if _, err := s.ModuleContent(ctx, tenantB, runbooker.ContentHash(two)); err != nil {
		t.Errorf("another tenant's content went: %v", err)
	}
	list, err = s.ListModules(ctx, tenantA)
	ok(t, err, "ListModules")
	if len(list) != 1 || list[0].SHA256 != runbooker.ContentHash(two) {
		t.Errorf("ListModules after delete = %+v", list)
	}
}
