package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/runbooker/runbooker"
)

func wantAsset(t *testing.T, got, want *runbooker.Asset) {
	t.Helper()
	if got.TenantID != want.TenantID || got.Type != want.Type || got.Name != want.Name ||
		got.Description != want.Description || got.Encrypted != want.Encrypted || got.KeyID != want.KeyID ||
		string(got.Value) != string(want.Value) {
		t.Fatalf("asset = %+v (value %s), want %+v (value %s)", got, got.Value, want, want.Value)
	}
	wantTime(t, got.UpdatedAt, want.UpdatedAt, "asset UpdatedAt")
}

// Assets are keyed by tenant, type and name, replaced whole by a put, and
// their values kept verbatim (ciphertext included).
func testAssets(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	v := &runbooker.Asset{TenantID: tenantA, Type: runbooker.AssetVariable, Name: "TenantDomain",
		Description: "primary domain", Value: json.RawMessage(`"contoso.example"`), UpdatedAt: at(1)}
	c := &runbooker.Asset{TenantID: tenantA, Type: runbooker.AssetCredential, Name: "TenantDomain",
		Encrypted: true, KeyID: "k1", Value: json.RawMessage(`"AAECAwQFBgcICQ=="`), UpdatedAt: at(2)}
	vb := &runbooker.Asset{TenantID: tenantB, Type: runbooker.AssetVariable, Name: "TenantDomain",
		Value: json.RawMessage(`"fabrikam.example"`), UpdatedAt: at(3)}
	cb := &runbooker.Asset{TenantID: tenantB, Type: runbooker.AssetConnection, Name: "Graph", Encrypted: true,
		KeyID: "k2", Value: json.RawMessage(`"ZZZZ"`), UpdatedAt: at(4)}
	for _, a := range []*runbooker.Asset{v, c, vb, cb} {
		cp := *a
		ok(t, s.PutAsset(ctx, &cp), "PutAsset "+a.Name)
	}
	get := func(tenant string, typ runbooker.AssetType, name string) *runbooker.Asset {
		t.Helper()
		a, err := s.Asset(ctx, tenant, typ, name)
		ok(t, err, "Asset")
		return a
	}
	wantAsset(t, get(tenantA, runbooker.AssetVariable, "TenantDomain"), v)
	wantAsset(t, get(tenantA, runbooker.AssetCredential, "TenantDomain"), c) // same name, other type
	wantAsset(t, get(tenantB, runbooker.AssetVariable, "TenantDomain"), vb)
	_, err := s.Asset(ctx, tenantB, runbooker.AssetCredential, "TenantDomain")
	wantCode(t, err, runbooker.ENOTFOUND, "Asset of another tenant")
	_, err = s.Asset(ctx, tenantA, runbooker.AssetCertificate, "TenantDomain")
	wantCode(t, err, runbooker.ENOTFOUND, "Asset of another type")

	bad := &runbooker.Asset{TenantID: tenantA, Type: "password", Name: "x", Value: json.RawMessage(`1`), UpdatedAt: at(5)}
	wantCode(t, s.PutAsset(ctx, bad), runbooker.EINVALID, "PutAsset with an unknown type")

	// A put replaces the whole asset: here it stops being encrypted.
	v2 := &runbooker.Asset{TenantID: tenantA, Type: runbooker.AssetCredential, Name: "TenantDomain",
		Description: "now plain", Value: json.RawMessage(`{"userName":"svc","password":"p"}`), UpdatedAt: at(6)}
	cp := *v2
	ok(t, s.PutAsset(ctx, &cp), "PutAsset replace")
	wantAsset(t, get(tenantA, runbooker.AssetCredential, "TenantDomain"), v2)

	l, err := s.ListAssets(ctx, tenantA, runbooker.AssetVariable)
	ok(t, err, "ListAssets")
	if len(l) != 1 {
		t.Fatalf("ListAssets(A, variable) = %d assets, want 1", len(l))
	}
	wantAsset(t, l[0], v)

	enc, err := s.EncryptedAssets(ctx)
	ok(t, err, "EncryptedAssets")
	if len(enc) != 1 {
		t.Fatalf("EncryptedAssets = %d assets, want only tenant B's connection", len(enc))
	}
	wantAsset(t, enc[0], cb)

	wantCode(t, s.DeleteAsset(ctx, tenantB, runbooker.AssetCredential, "TenantDomain"), runbooker.ENOTFOUND, "DeleteAsset of another tenant")
	ok(t, s.DeleteAsset(ctx, tenantA, runbooker.AssetCredential, "TenantDomain"), "DeleteAsset")
	_, err = s.Asset(ctx, tenantA, runbooker.AssetCredential, "TenantDomain")
	wantCode(t, err, runbooker.ENOTFOUND, "Asset after delete")
	wantCode(t, s.DeleteAsset(ctx, tenantA, runbooker.AssetCredential, "TenantDomain"), runbooker.ENOTFOUND, "DeleteAsset twice")
	wantAsset(t, get(tenantA, runbooker.AssetVariable, "TenantDomain"), v)
}

// SuspendWaiting parks the group's New jobs created before the cutoff, in
// the named tenant only; the parked jobs resume and stop like any other
// Suspended job.
func testSuspendWaiting(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	claimed := createJob(t, s, newJob(tenantA, group, at(0)))
	claimOne(t, s, tenantA, worker1, at(0), at(600))
	old1 := createJob(t, s, newJob(tenantA, group, at(1)))
	old2 := createJob(t, s, newJob(tenantA, group, at(2)))
	young := createJob(t, s, newJob(tenantA, group, at(5)))
	boundary := createJob(t, s, newJob(tenantA, group, at(3))) // not created before the cutoff
	cloud := createJob(t, s, newJob(tenantA, runbooker.CloudGroup, at(1)))
	otherTenant := createJob(t, s, newJob(tenantB, group, at(1)))

	const reason = "no live worker in group onprem for 30m0s"
	p := runbooker.SuspendParams{TenantID: tenantA, Group: group, QueuedBefore: at(3), Reason: reason, Now: at(10)}
	ids, err := s.SuspendWaiting(ctx, p)
	ok(t, err, "SuspendWaiting")
	slices.Sort(ids)
	if want := sorted(old1.ID, old2.ID); !slices.Equal(ids, want) {
		t.Fatalf("SuspendWaiting = %v, want %v", ids, want)
	}
	for _, id := range ids {
		j := wantStatus(t, s, tenantA, id, runbooker.StatusSuspended)
		if j.StatusReason != reason {
			t.Errorf("StatusReason = %q, want %q", j.StatusReason, reason)
		}
		wantTime(t, j.LastModifiedAt, at(10), "LastModifiedAt of a parked job")
	}
	wantStatus(t, s, tenantA, young.ID, runbooker.StatusNew)
	wantStatus(t, s, tenantA, boundary.ID, runbooker.StatusNew)
	wantStatus(t, s, tenantA, cloud.ID, runbooker.StatusNew)
	wantStatus(t, s, tenantB, otherTenant.ID, runbooker.StatusNew)
	wantStatus(t, s, tenantA, claimed.ID, runbooker.StatusActivating)
	if ids, err := s.SuspendWaiting(ctx, p); err != nil || len(ids) != 0 {
		t.Fatalf("second SuspendWaiting = %v, %v; want nothing", ids, err)
	}

	j, err := s.ResumeJob(ctx, tenantA, old1.ID, at(11))
	ok(t, err, "ResumeJob of a parked job")
	if j.Status != runbooker.StatusNew || j.StatusReason != "" {
		t.Fatalf("resumed parked job: %s %q", j.Status, j.StatusReason)
	}
	if j, err := s.RequestStop(ctx, tenantA, old2.ID, at(12)); err != nil || j.Status != runbooker.StatusStopped {
		t.Fatalf("RequestStop of a parked job = %v, %v; want Stopped", j, err)
	}
}
