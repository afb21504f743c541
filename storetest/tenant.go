package storetest

import (
	"slices"
	"testing"

	"github.com/runbooker/runbooker"
)

func testPing(t *testing.T, s runbooker.Store) {
	ok(t, s.Ping(t.Context()), "Ping")
}

// EnsureTenant is idempotent; Tenants lists each tenant once.
func testTenants(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	for _, id := range []string{tenantB, tenantA, tenantA, tenantB} {
		ok(t, s.EnsureTenant(ctx, id), "EnsureTenant "+id)
	}
	ts, err := s.Tenants(ctx)
	ok(t, err, "Tenants")
	var ids []string
	for _, tn := range ts {
		ids = append(ids, tn.ID)
		if tn.CreatedAt.IsZero() {
			t.Errorf("tenant %s has no CreatedAt", tn.ID)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{tenantA, tenantB}) {
		t.Fatalf("Tenants = %v, want [%s %s]", ids, tenantA, tenantB)
	}
}

// Settings are per tenant, stored verbatim, overwritten by a second put and
// ENOTFOUND when absent.
func testSettings(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	_, err := s.Setting(ctx, tenantA, "customization")
	wantCode(t, err, runbooker.ENOTFOUND, "Setting before any put")

	doc := []byte(`{"b": 1,  "a": [ ]}` + "\n") // odd spacing and key order must survive
	ok(t, s.PutSetting(ctx, tenantA, "customization", doc), "PutSetting")
	got, err := s.Setting(ctx, tenantA, "customization")
	ok(t, err, "Setting")
	if string(got) != string(doc) {
		t.Fatalf("Setting = %q, want %q (verbatim)", got, doc)
	}

	_, err = s.Setting(ctx, tenantB, "customization")
	wantCode(t, err, runbooker.ENOTFOUND, "Setting of another tenant")
	_, err = s.Setting(ctx, tenantA, "permissions")
	wantCode(t, err, runbooker.ENOTFOUND, "Setting under another key")

	doc2 := []byte(`{"replaced":true}`)
	ok(t, s.PutSetting(ctx, tenantA, "customization", doc2), "PutSetting overwrite")
	got, err = s.Setting(ctx, tenantA, "customization")
	ok(t, err, "Setting after overwrite")
	if string(got) != string(doc2) {
		t.Fatalf("Setting after overwrite = %q, want %q", got, doc2)
	}

	ok(t, s.PutSetting(ctx, tenantB, "customization", []byte(`{"tenant":"b"}`)), "PutSetting tenant B")
	got, err = s.Setting(ctx, tenantA, "customization")
	ok(t, err, "Setting A after B's put")
	if string(got) != string(doc2) {
		t.Fatalf("tenant B's put changed tenant A's setting to %q", got)
	}

	// Several documents in one read: only the tenant's own, absent keys absent.
	ok(t, s.PutSetting(ctx, tenantA, "roles", []byte{}), "PutSetting empty roles")
	many, err := s.Settings(ctx, tenantA, []string{"customization", "roles", "permissions"})
	ok(t, err, "Settings")
	if len(many) != 2 || string(many["customization"]) != string(doc2) || many["roles"] == nil || len(many["roles"]) != 0 {
		t.Fatalf("Settings = %q, want customization %q and an empty (not absent) roles", many, doc2)
	}
	if _, ok := many["permissions"]; ok {
		t.Fatalf("Settings holds the absent key permissions")
	}
	many, err = s.Settings(ctx, tenantB, []string{"roles"})
	ok(t, err, "Settings of tenant B")
	if len(many) != 0 {
		t.Fatalf("Settings of tenant B = %q, want none (roles is tenant A's)", many)
	}
	many, err = s.Settings(ctx, tenantA, nil)
	ok(t, err, "Settings of no keys")
	if len(many) != 0 {
		t.Fatalf("Settings of no keys = %q", many)
	}
}

// Credentials: create, get by id from any tenant, list and delete per tenant.
func testCredentials(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	mk := func(tenant, name string, role runbooker.Role, sec float64) *runbooker.Credential {
		c := &runbooker.Credential{ID: runbooker.NewID(), TenantID: tenant, Name: name, Role: role,
			SecretHash: runbooker.HashSecret(runbooker.NewSecret()), CreatedAt: at(sec)}
		ok(t, s.CreateCredential(ctx, c), "CreateCredential "+name)
		return c
	}
	a1 := mk(tenantA, "automation", runbooker.RoleOperator, 1)
	a2 := mk(tenantA, "admin", runbooker.RoleAdmin, 2)
	b1 := mk(tenantB, "other", runbooker.RoleAdmin, 3)

	// Authentication starts from the id alone, so lookup spans tenants.
	for _, want := range []*runbooker.Credential{a1, a2, b1} {
		got, err := s.Credential(ctx, want.ID)
		ok(t, err, "Credential")
		if got.ID != want.ID || got.TenantID != want.TenantID || got.Name != want.Name ||
			got.Role != want.Role || got.SecretHash != want.SecretHash {
			t.Errorf("Credential(%s) = %+v, want %+v", want.ID, got, want)
		}
		wantTime(t, got.CreatedAt, want.CreatedAt, "Credential.CreatedAt")
	}
	_, err := s.Credential(ctx, runbooker.NewID())
	wantCode(t, err, runbooker.ENOTFOUND, "Credential unknown")

	dup := *a1
	dup.TenantID = tenantB
	wantCode(t, s.CreateCredential(ctx, &dup), runbooker.ECONFLICT, "CreateCredential with an existing id")

	list := func(tenant string) []string {
		cs, err := s.ListCredentials(ctx, tenant)
		ok(t, err, "ListCredentials")
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.ID)
			if c.TenantID != tenant {
				t.Errorf("ListCredentials(%s) returned a credential of %s", tenant, c.TenantID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	wantA := []string{a1.ID, a2.ID}
	slices.Sort(wantA)
	if got := list(tenantA); !slices.Equal(got, wantA) {
		t.Fatalf("ListCredentials(A) = %v, want %v", got, wantA)
	}
	if got := list("tenant-none"); len(got) != 0 {
		t.Fatalf("ListCredentials(unknown tenant) = %v, want none", got)
	}

	wantCode(t, s.DeleteCredential(ctx, tenantB, a1.ID), runbooker.ENOTFOUND, "DeleteCredential of another tenant")
	if _, err := s.Credential(ctx, a1.ID); err != nil {
		t.Fatalf("credential gone after another tenant's delete: %v", err)
	}
	ok(t, s.DeleteCredential(ctx, tenantA, a1.ID), "DeleteCredential")
	_, err = s.Credential(ctx, a1.ID)
	wantCode(t, err, runbooker.ENOTFOUND, "Credential after delete")
	wantCode(t, s.DeleteCredential(ctx, tenantA, a1.ID), runbooker.ENOTFOUND, "DeleteCredential twice")
	if got := list(tenantA); !slices.Equal(got, []string{a2.ID}) {
		t.Fatalf("ListCredentials(A) after delete = %v, want [%s]", got, a2.ID)
	}
}
