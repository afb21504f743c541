package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

func wantGroup(t *testing.T, got, want *runbooker.WorkerGroup) {
	t.Helper()
	g, w := *got, *want
	g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
	g.TokenExpiresAt, w.TokenExpiresAt = time.Time{}, time.Time{}
	if g != w {
		t.Fatalf("group = %+v, want %+v", g, w)
	}
	wantTime(t, got.CreatedAt, want.CreatedAt, "group CreatedAt")
	wantTime(t, got.TokenExpiresAt, want.TokenExpiresAt, "group TokenExpiresAt")
}

// Groups: per tenant, found by registration token in any tenant, updated
// whole (token rotation), deleted only when no worker belongs to them.
func testWorkerGroups(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	ga := &runbooker.WorkerGroup{TenantID: tenantA, Name: group, TokenHash: runbooker.HashSecret("token-a"),
		DefaultHybrid: true, RunAs: "svc-runbooks", MaxRuntime: 90 * time.Minute, Capacity: 4,
		PowerShell: "pwsh", SuspendAfter: 30 * time.Minute, CreatedAt: at(1),
		MemoryLimit: 512 << 20, MaxProcesses: 200, CPUWeight: 50}
	ok(t, s.CreateGroup(ctx, ga), "CreateGroup")
	gb := &runbooker.WorkerGroup{TenantID: tenantB, Name: group, TokenHash: runbooker.HashSecret("token-b"), CreatedAt: at(2)}
	ok(t, s.CreateGroup(ctx, gb), "CreateGroup same name, other tenant")
	other := &runbooker.WorkerGroup{TenantID: tenantA, Name: "branch-office", TokenHash: runbooker.HashSecret("token-c"), CreatedAt: at(3)}
	ok(t, s.CreateGroup(ctx, other), "CreateGroup second")

	dup := *ga
	dup.TokenHash = runbooker.HashSecret("another")
	wantCode(t, s.CreateGroup(ctx, &dup), runbooker.ECONFLICT, "CreateGroup with an existing name")
	sameToken := runbooker.WorkerGroup{TenantID: tenantB, Name: "elsewhere", TokenHash: ga.TokenHash, CreatedAt: at(4)}
	wantCode(t, s.CreateGroup(ctx, &sameToken), runbooker.ECONFLICT, "CreateGroup with a token hash in use")

	got, err := s.Group(ctx, tenantA, group)
	ok(t, err, "Group")
	wantGroup(t, got, ga)
	got, err = s.GroupByTokenHash(ctx, gb.TokenHash)
	ok(t, err, "GroupByTokenHash")
	wantGroup(t, got, gb)
	_, err = s.GroupByTokenHash(ctx, runbooker.HashSecret("unknown"))
	wantCode(t, err, runbooker.ENOTFOUND, "GroupByTokenHash unknown")
	_, err = s.Group(ctx, tenantB, other.Name)
	wantCode(t, err, runbooker.ENOTFOUND, "Group of another tenant")

	gs, err := s.ListGroups(ctx, tenantA)
	ok(t, err, "ListGroups")
	var names []string
	for _, g := range gs {
		names = append(names, g.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{other.Name, group}) {
		t.Fatalf("ListGroups(A) = %v", names)
	}

	upd := *ga
	upd.TokenHash, upd.Capacity, upd.RunAs, upd.DefaultHybrid = runbooker.HashSecret("rotated"), 8, "", false
	upd.MaxRuntime, upd.SuspendAfter, upd.PowerShell = 2*time.Hour, 5*time.Minute, "powershell"
	upd.MemoryLimit, upd.MaxProcesses, upd.CPUWeight = 3<<30, 0, 400
	upd.CreatedAt = at(99) // not a setting: kept
	ok(t, s.UpdateGroup(ctx, &upd), "UpdateGroup")
	got, err = s.Group(ctx, tenantA, group)
	ok(t, err, "Group after update")
	upd.CreatedAt = at(1)
	wantGroup(t, got, &upd)
	_, err = s.GroupByTokenHash(ctx, ga.TokenHash)
	wantCode(t, err, runbooker.ENOTFOUND, "GroupByTokenHash of the rotated-out token")
	if got, err := s.GroupByTokenHash(ctx, upd.TokenHash); err != nil || got.TenantID != tenantA {
		t.Fatalf("GroupByTokenHash of the new token: %+v, %v", got, err)
	}
	missing := upd
	missing.TenantID = tenantB
	missing.Name = other.Name
	wantCode(t, s.UpdateGroup(ctx, &missing), runbooker.ENOTFOUND, "UpdateGroup of another tenant's group")

	w := &runbooker.Worker{ID: runbooker.NewID(), TenantID: tenantA, Group: other.Name, Name: "host-1",
		SecretHash: runbooker.HashSecret("w"), RegisteredAt: at(5)}
	ok(t, s.CreateWorker(ctx, w), "CreateWorker")
	wantCode(t, s.DeleteGroup(ctx, tenantA, other.Name), runbooker.ECONFLICT, "DeleteGroup with a worker")
	wantCode(t, s.DeleteGroup(ctx, tenantB, other.Name), runbooker.ENOTFOUND, "DeleteGroup of another tenant")
	ok(t, s.DeleteWorker(ctx, tenantA, w.ID), "DeleteWorker")
	ok(t, s.DeleteGroup(ctx, tenantA, other.Name), "DeleteGroup")
	_, err = s.Group(ctx, tenantA, other.Name)
	wantCode(t, err, runbooker.ENOTFOUND, "Group after delete")
	wantCode(t, s.DeleteGroup(ctx, tenantA, other.Name), runbooker.ENOTFOUND, "DeleteGroup twice")
}

// Workers: found by id in any tenant, listed per group, touched, deleted
// per tenant; LastSeen reports each group's most recently seen worker.
func testWorkers(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	for _, g := range []*runbooker.WorkerGroup{
		{TenantID: tenantA, Name: group, TokenHash: runbooker.HashSecret("a1")},
		{TenantID: tenantA, Name: "dmz", TokenHash: runbooker.HashSecret("a2")},
		{TenantID: tenantA, Name: "idle", TokenHash: runbooker.HashSecret("a3")},
		{TenantID: tenantB, Name: group, TokenHash: runbooker.HashSecret("b1")},
	} {
		ok(t, s.CreateGroup(ctx, g), "CreateGroup "+g.Name)
	}
	mk := func(tenant, grp, name string) *runbooker.Worker {
		w := &runbooker.Worker{ID: runbooker.NewID(), TenantID: tenant, Group: grp, Name: name,
			SecretHash: runbooker.HashSecret(name), Version: "1.2.3", OS: "windows", Arch: "amd64",
			Hostname: name + ".corp.example", RegisteredAt: at(1)}
		ok(t, s.CreateWorker(ctx, w), "CreateWorker "+name)
		return w
	}
	w1, w2 := mk(tenantA, group, "w1"), mk(tenantA, group, "w2")
	w3 := mk(tenantA, "dmz", "w3")
	mk(tenantA, "idle", "w4") // never seen
	wb := mk(tenantB, group, "wb")

	got, err := s.Worker(ctx, wb.ID)
	ok(t, err, "Worker")
	g, w := *got, *wb
	g.RegisteredAt, w.RegisteredAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) || !got.LastSeenAt.IsZero() {
		t.Fatalf("Worker = %+v, want %+v never seen", got, wb)
	}
	wantTime(t, got.RegisteredAt, at(1), "RegisteredAt")
	_, err = s.Worker(ctx, runbooker.NewID())
	wantCode(t, err, runbooker.ENOTFOUND, "Worker unknown")
	dup := *w1
	wantCode(t, s.CreateWorker(ctx, &dup), runbooker.ECONFLICT, "CreateWorker with an existing id")

	ws, err := s.ListWorkers(ctx, tenantA, group)
	ok(t, err, "ListWorkers")
	ids := workerIDs(ws)
	if want := sorted(w1.ID, w2.ID); !slices.Equal(ids, want) {
		t.Fatalf("ListWorkers(A, %s) = %v, want %v", group, ids, want)
	}
	ws, err = s.ListWorkers(ctx, tenantB, group)
	ok(t, err, "ListWorkers B")
	if ids := workerIDs(ws); !slices.Equal(ids, []string{wb.ID}) {
		t.Fatalf("ListWorkers(B, %s) = %v, want [%s]", group, ids, wb.ID)
	}

	for _, tc := range []struct {
		w   *runbooker.Worker
		sec float64
	}{{w1, 10}, {w2, 30}, {w1, 20}, {w3, 5}, {wb, 50}} {
		ok(t, s.TouchWorker(ctx, tc.w.ID, at(tc.sec)), "TouchWorker")
	}
	wantCode(t, s.TouchWorker(ctx, runbooker.NewID(), at(1)), runbooker.ENOTFOUND, "TouchWorker unknown")
	got, err = s.Worker(ctx, w2.ID)
	ok(t, err, "Worker after touch")
	wantTime(t, got.LastSeenAt, at(30), "LastSeenAt")
	if got.State != runbooker.WorkerActive || got.Languages != nil {
		t.Fatalf("a worker that never reported: state %q languages %v", got.State, got.Languages)
	}

	seen, err := s.LastSeen(ctx, tenantA)
	ok(t, err, "LastSeen")
	wantTime(t, seen[group], at(30), "LastSeen of "+group)
	wantTime(t, seen["dmz"], at(5), "LastSeen of dmz")
	if v, ok := seen["idle"]; ok && !v.IsZero() {
		t.Fatalf("LastSeen of a group whose worker was never seen = %v", v)
	}
	if len(seen) > 3 {
		t.Fatalf("LastSeen(A) has %d groups: %v", len(seen), seen)
	}

	// ReportWorker: state and languages; nil languages keep the stored ones,
	// an empty list is stored as none; last seen never moves back.
	ok(t, s.ReportWorker(ctx, w3.ID, runbooker.WorkerReport{Languages: []runbooker.Language{runbooker.LangBash, runbooker.LangPython}, Now: at(6)}), "ReportWorker")
	ok(t, s.ReportWorker(ctx, w3.ID, runbooker.WorkerReport{State: runbooker.WorkerDraining, Now: at(4)}), "ReportWorker draining")
	got, err = s.Worker(ctx, w3.ID)
	ok(t, err, "Worker after report")
	if got.State != runbooker.WorkerDraining || !slices.Equal(got.Languages, []runbooker.Language{runbooker.LangBash, runbooker.LangPython}) {
		t.Fatalf("after ReportWorker: state %q languages %v", got.State, got.Languages)
	}
	wantTime(t, got.LastSeenAt, at(6), "LastSeenAt after reports")
	ok(t, s.ReportWorker(ctx, w3.ID, runbooker.WorkerReport{State: runbooker.WorkerStopped, Languages: []runbooker.Language{}, Now: at(6)}), "ReportWorker stopped")
	got, _ = s.Worker(ctx, w3.ID)
	if got.State != runbooker.WorkerStopped || got.Languages == nil || len(got.Languages) != 0 {
		t.Fatalf("after ReportWorker stopped: state %q languages %#v", got.State, got.Languages)
	}
	ok(t, s.ReportWorker(ctx, w3.ID, runbooker.WorkerReport{Now: at(5)}), "ReportWorker active")
	wantCode(t, s.ReportWorker(ctx, runbooker.NewID(), runbooker.WorkerReport{Now: at(1)}), runbooker.ENOTFOUND, "ReportWorker unknown")

	wantCode(t, s.DeleteWorker(ctx, tenantB, w1.ID), runbooker.ENOTFOUND, "DeleteWorker of another tenant")
	ok(t, s.DeleteWorker(ctx, tenantA, w1.ID), "DeleteWorker")
	_, err = s.Worker(ctx, w1.ID)
	wantCode(t, err, runbooker.ENOTFOUND, "Worker after delete")
	wantCode(t, s.DeleteWorker(ctx, tenantA, w1.ID), runbooker.ENOTFOUND, "DeleteWorker twice")
}

func workerIDs(ws []*runbooker.Worker) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
