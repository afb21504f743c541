package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/runbooker/runbooker"
)

// newRunbook returns a runbook of tenant whose version is content's hash.
func newRunbook(tenant, name, scope, category string, content []byte) *runbooker.Runbook {
	return &runbooker.Runbook{
		TenantID: tenant, Name: name, Language: runbooker.LangPowerShell,
		Version: runbooker.ContentHash(content), Scope: scope, Category: category, LogVerbose: true,
		Meta: runbooker.RunbookMeta{
			DisplayName: "Say Hello",
			Synopsis:    "Says hello.",
			Parameters: []runbooker.Parameter{
				{Name: "UserName", Type: runbooker.TypeString, Mandatory: true},
				{Name: "Count", Type: runbooker.TypeInt, Default: 3, ValidateRange: &runbooker.Range{Min: 1, Max: 9}},
			},
			RequiredModules: []runbooker.Module{{Name: "Az.Accounts", Version: "2.12.1"}},
			Customization:   json.RawMessage(`{"Parameters":{"UserName":{"Hide":false}}}`),
		},
	}
}

func putRunbook(t *testing.T, s runbooker.Store, rb *runbooker.Runbook, content []byte) runbooker.PutRunbookResult {
	t.Helper()
	cp := *rb // the store may write times back; callers keep their copy
	res, err := s.PutRunbook(t.Context(), &cp, content)
	ok(t, err, "PutRunbook "+rb.Name)
	return res
}

func getRunbook(t *testing.T, s runbooker.Store, tenant, name string) *runbooker.Runbook {
	t.Helper()
	rb, err := s.Runbook(t.Context(), tenant, name)
	ok(t, err, "Runbook "+name)
	return rb
}

func wantRunbook(t *testing.T, got, want *runbooker.Runbook) {
	t.Helper()
	if got.TenantID != want.TenantID || got.Name != want.Name || got.Language != want.Language ||
		got.Version != want.Version || got.Scope != want.Scope || got.Category != want.Category ||
		got.DefaultGroup != want.DefaultGroup || got.SourceID != want.SourceID || got.LogVerbose != want.LogVerbose {
		t.Errorf("runbook = %+v, want %+v", got, want)
	}
	sameJSON(t, got.Meta, want.Meta, "runbook meta")
}

func wantContent(t *testing.T, s runbooker.Store, tenant, version string, want []byte) {
	t.Helper()
	got, err := s.RunbookContent(t.Context(), tenant, version)
	ok(t, err, "RunbookContent")
	if string(got) != string(want) {
		t.Fatalf("RunbookContent = %q, want %q", got, want)
	}
}

func testRunbookPutGet(t *testing.T, s runbooker.Store) {
	content := []byte("param([string]$UserName)\nWrite-Output \"hello $UserName\"\n")
	rb := newRunbook(tenantA, "rjgit-user_general_say-hello", "user", "general", content)
	rb.DefaultGroup, rb.SourceID = "onprem", "git-main"
	res := putRunbook(t, s, rb, content)
	if !res.Created || !res.Changed {
		t.Fatalf("first put = %+v, want Created and Changed", res)
	}
	got := getRunbook(t, s, tenantA, rb.Name)
	wantRunbook(t, got, rb)
	if got.CreatedAt.IsZero() || got.UpdatedAt.Before(got.CreatedAt) {
		t.Errorf("times set by the store: created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
	wantContent(t, s, tenantA, rb.Version, content)

	bad := newRunbook(tenantA, "org_general_bad-hash", "org", "general", content)
	bad.Version = runbooker.ContentHash([]byte("something else"))
	_, err := s.PutRunbook(t.Context(), bad, content)
	wantCode(t, err, runbooker.EINVALID, "PutRunbook with a version that is not the content hash")
	_, err = s.Runbook(t.Context(), tenantA, bad.Name)
	wantCode(t, err, runbooker.ENOTFOUND, "Runbook after a rejected put")
	_, err = s.Runbook(t.Context(), tenantA, "org_general_nothing")
	wantCode(t, err, runbooker.ENOTFOUND, "Runbook unknown")
	_, err = s.RunbookContent(t.Context(), tenantA, runbooker.ContentHash([]byte("never stored")))
	wantCode(t, err, runbooker.ENOTFOUND, "RunbookContent unknown")
}

// Every version stays readable; Changed reports any change of version or
// stored fields (metadata, scope, category, default group, source), and an
// identical re-put changes nothing, UpdatedAt included.
func testRunbookVersions(t *testing.T, s runbooker.Store) {
	v1 := []byte("Write-Output 'v1'")
	v2 := []byte("Write-Output 'v2'")
	name := "user_security_revoke-access"
	rb1 := newRunbook(tenantA, name, "user", "security", v1)
	putRunbook(t, s, rb1, v1)
	first := getRunbook(t, s, tenantA, name)

	rb2 := newRunbook(tenantA, name, "user", "security", v2)
	if res := putRunbook(t, s, rb2, v2); res.Created || !res.Changed {
		t.Fatalf("put of new content = %+v, want Changed only", res)
	}
	second := getRunbook(t, s, tenantA, name)
	wantRunbook(t, second, rb2)
	wantTime(t, second.CreatedAt, first.CreatedAt, "CreatedAt after update")
	wantContent(t, s, tenantA, rb1.Version, v1) // the old version is kept
	wantContent(t, s, tenantA, rb2.Version, v2)

	if res := putRunbook(t, s, rb2, v2); res.Created || res.Changed {
		t.Fatalf("identical re-put = %+v, want neither Created nor Changed", res)
	}
	third := getRunbook(t, s, tenantA, name)
	wantTime(t, third.UpdatedAt, second.UpdatedAt, "UpdatedAt after an identical re-put")

	meta := *rb2
	meta.Meta.Synopsis = "Revokes access, now with a better synopsis."
	if res := putRunbook(t, s, &meta, v2); res.Created || !res.Changed {
		t.Fatalf("metadata-only change = %+v, want Changed", res)
	}
	wantRunbook(t, getRunbook(t, s, tenantA, name), &meta)

	grp := meta
	grp.DefaultGroup = "onprem"
	if res := putRunbook(t, s, &grp, v2); !res.Changed {
		t.Fatalf("default group change = %+v, want Changed", res)
	}
	wantRunbook(t, getRunbook(t, s, tenantA, name), &grp)

	quiet := grp
	quiet.LogVerbose = false
	if res := putRunbook(t, s, &quiet, v2); !res.Changed {
		t.Fatalf("log verbose change = %+v, want Changed", res)
	}
	if got := getRunbook(t, s, tenantA, name); got.LogVerbose {
		t.Fatal("LogVerbose turned off is stored on")
	}
	if res := putRunbook(t, s, &grp, v2); !res.Changed {
		t.Fatalf("log verbose back on = %+v, want Changed", res)
	}
	wantRunbook(t, getRunbook(t, s, tenantA, name), &grp)

	// Back to v1: content is deduplicated, nothing breaks.
	back := grp
	back.Version = rb1.Version
	if res := putRunbook(t, s, &back, v1); !res.Changed {
		t.Fatalf("put back to v1 = %+v, want Changed", res)
	}
	wantRunbook(t, getRunbook(t, s, tenantA, name), &back)
	wantContent(t, s, tenantA, rb1.Version, v1)
}

// Deleting a runbook keeps its content: jobs still show the source they ran.
func testRunbookDelete(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	content := []byte("echo shared")
	a := newRunbook(tenantA, "org_general_one", "org", "general", content)
	b := newRunbook(tenantA, "org_general_two", "org", "general", content)
	putRunbook(t, s, a, content)
	putRunbook(t, s, b, content)
	ok(t, s.DeleteRunbook(ctx, tenantA, a.Name), "DeleteRunbook")
	_, err := s.Runbook(ctx, tenantA, a.Name)
	wantCode(t, err, runbooker.ENOTFOUND, "Runbook after delete")
	wantCode(t, s.DeleteRunbook(ctx, tenantA, a.Name), runbooker.ENOTFOUND, "DeleteRunbook twice")
	getRunbook(t, s, tenantA, b.Name)
	ok(t, s.DeleteRunbook(ctx, tenantA, b.Name), "DeleteRunbook second")
	wantContent(t, s, tenantA, a.Version, content)

	if res := putRunbook(t, s, a, content); !res.Created || !res.Changed {
		t.Fatalf("put after delete = %+v, want Created", res)
	}
}

func testRunbookTenantScope(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	ca, cb := []byte("Write-Output 'a'"), []byte("Write-Output 'b'")
	name := "org_general_same-name"
	ra := newRunbook(tenantA, name, "org", "general", ca)
	putRunbook(t, s, ra, ca)

	_, err := s.Runbook(ctx, tenantB, name)
	wantCode(t, err, runbooker.ENOTFOUND, "Runbook of another tenant")
	_, err = s.RunbookContent(ctx, tenantB, ra.Version)
	wantCode(t, err, runbooker.ENOTFOUND, "RunbookContent of another tenant")
	wantCode(t, s.DeleteRunbook(ctx, tenantB, name), runbooker.ENOTFOUND, "DeleteRunbook of another tenant")
	if l, err := s.ListRunbooks(ctx, tenantB, runbooker.RunbookFilter{}); err != nil || len(l) != 0 {
		t.Fatalf("ListRunbooks(B) = %d runbooks, %v; want none", len(l), err)
	}

	rb := newRunbook(tenantB, name, "org", "general", cb)
	if res := putRunbook(t, s, rb, cb); !res.Created {
		t.Fatalf("same name in another tenant: %+v, want Created", res)
	}
	wantRunbook(t, getRunbook(t, s, tenantA, name), ra)
	wantRunbook(t, getRunbook(t, s, tenantB, name), rb)
}

func testRunbookList(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	type def struct{ name, scope, category, source string }
	defs := []def{
		{"org_general_add-user", "org", "general", ""},
		{"user_security_revoke-access", "user", "security", ""},
		{"rjgit-user_security_reset-mfa", "user", "security", "git1"},
		{"rjgit-device_general_wipe-device", "device", "general", "git1"},
		{"rjgit-group_mail_add-alias_scheduled", "group", "mail", "git1"},
		{"other-user_mail_100%-quota", "user", "mail", "git2"},
	}
	for _, d := range defs {
		c := []byte("# " + d.name)
		rb := newRunbook(tenantA, d.name, d.scope, d.category, c)
		rb.SourceID = d.source
		putRunbook(t, s, rb, c)
	}
	putRunbook(t, s, newRunbook(tenantB, "rjgit-user_security_other-tenant", "user", "security", []byte("b")), []byte("b"))

	for _, tc := range []struct {
		f    runbooker.RunbookFilter
		want []string
	}{
		{runbooker.RunbookFilter{}, []string{"org_general_add-user", "other-user_mail_100%-quota",
			"rjgit-device_general_wipe-device", "rjgit-group_mail_add-alias_scheduled",
			"rjgit-user_security_reset-mfa", "user_security_revoke-access"}},
		{runbooker.RunbookFilter{Scope: "user"}, []string{"other-user_mail_100%-quota",
			"rjgit-user_security_reset-mfa", "user_security_revoke-access"}},
		{runbooker.RunbookFilter{Category: "general"}, []string{"org_general_add-user", "rjgit-device_general_wipe-device"}},
		{runbooker.RunbookFilter{Search: "RESET"}, []string{"rjgit-user_security_reset-mfa"}},
		{runbooker.RunbookFilter{Search: "_Security_"}, []string{"rjgit-user_security_reset-mfa", "user_security_revoke-access"}},
		{runbooker.RunbookFilter{Search: "100%"}, []string{"other-user_mail_100%-quota"}},
		{runbooker.RunbookFilter{Search: "%"}, []string{"other-user_mail_100%-quota"}}, // literal, not a wildcard
		{runbooker.RunbookFilter{Search: "d_us"}, nil},                                 // _ is literal too: "add-user" must not match
		{runbooker.RunbookFilter{Prefix: "rjgit-"}, []string{"rjgit-device_general_wipe-device",
			"rjgit-group_mail_add-alias_scheduled", "rjgit-user_security_reset-mfa"}},
		{runbooker.RunbookFilter{Prefix: "user_"}, []string{"user_security_revoke-access"}},
		{runbooker.RunbookFilter{SourceID: "git1"}, []string{"rjgit-device_general_wipe-device",
			"rjgit-group_mail_add-alias_scheduled", "rjgit-user_security_reset-mfa"}},
		{runbooker.RunbookFilter{SourceID: "git2"}, []string{"other-user_mail_100%-quota"}},
		{runbooker.RunbookFilter{Scope: "user", Prefix: "rjgit-"}, []string{"rjgit-user_security_reset-mfa"}},
		{runbooker.RunbookFilter{Scope: "user", Category: "mail", Search: "quota"}, []string{"other-user_mail_100%-quota"}},
		{runbooker.RunbookFilter{Scope: "org", Category: "security"}, nil},
	} {
		l, err := s.ListRunbooks(ctx, tenantA, tc.f)
		ok(t, err, "ListRunbooks")
		var got []string
		for _, rb := range l {
			got = append(got, rb.Name)
			if rb.TenantID != tenantA {
				t.Errorf("ListRunbooks(A) returned a runbook of %s", rb.TenantID)
			}
		}
		slices.Sort(got) // the contract promises no order
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListRunbooks(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}
