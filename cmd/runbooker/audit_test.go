package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	_ "modernc.org/sqlite"
)

// audit verify passes on a good database; after one entry is changed with
// plain SQL it exits 1 naming that entry.
func TestAuditVerifyFindsTampering(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st := openData(t, dir)
	for _, tenant := range []string{runbooker.DefaultTenant, "other"} {
		if err := st.EnsureTenant(ctx, tenant); err != nil {
			t.Fatal(err)
		}
	}
	// More than a page, so the walk crosses page boundaries.
	for i := range 2500 {
		err := st.AppendAudit(ctx, &runbooker.AuditEntry{TenantID: runbooker.DefaultTenant, Actor: "ceo@contoso.com",
			ActorKind: runbooker.ActorPerson, Surface: "portal", Action: "job.start", Object: "rb",
			Detail: json.RawMessage(`{"n":` + strings.Repeat("1", 1+i%5) + `}`), Source: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AppendAudit(ctx, &runbooker.AuditEntry{TenantID: "other", Actor: "system", ActorKind: runbooker.ActorSystem,
		Surface: "server", Action: "server.start"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errOut := runCLI(t, "", "audit", "verify", "--data", dir)
	if code != 0 || out != "audit chain of tenant \"default\": 2500 entries, intact\n" {
		t.Fatalf("audit verify of a good database: exit %d, out %q, err %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "audit", "verify", "--all", "--data", dir)
	if code != 0 || !strings.Contains(out, `"other": 1 entries, intact`) || !strings.Contains(out, `"default": 2500 entries`) {
		t.Fatalf("audit verify --all: exit %d, out %q", code, out)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "runbooker.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_log SET actor = 'intern@contoso.com' WHERE tenant_id = 'default' AND seq = 1234`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "", "audit", "verify", "--all", "--data", dir)
	if code != 1 || !strings.Contains(out, `"default": BROKEN at seq 1234 (1233 entries intact before it)`) ||
		!strings.Contains(out, `"other": 1 entries, intact`) {
		t.Fatalf("audit verify after tampering: exit %d, out %q", code, out)
	}
	// An entry removed: the gap is found at the one after it.
	if _, err := db.Exec(`DELETE FROM audit_log WHERE tenant_id = 'other' AND seq = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_log SET actor = 'ceo@contoso.com' WHERE tenant_id = 'default' AND seq = 1234`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "", "audit", "verify", "--all", "--data", dir)
	if code != 0 || strings.Contains(out, "BROKEN") {
		t.Fatalf("audit verify with the entry restored and the only entry of a tenant removed: exit %d, out %q", code, out)
	}
}

func TestAuditExport(t *testing.T) {
	dir := t.TempDir()
	for _, upn := range []string{"a@example.com", "b@example.com"} {
		if code, _, errOut := runCLI(t, "a long password\n", "user", "create", upn, "--password-stdin", "--data", dir); code != 0 {
			t.Fatal(errOut)
		}
	}
	if code, _, errOut := runCLI(t, "", "user", "disable", "b@example.com", "--data", dir); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runCLI(t, "", "audit", "export", "--data", dir)
	if code != 0 {
		t.Fatalf("audit export: exit %d, %s", code, errOut)
	}
	var entries []*runbooker.AuditEntry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e runbooker.AuditEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		entries = append(entries, &e)
	}
	if len(entries) != 3 || entries[0].Action != "user.create" || entries[2].Action != "user.disable" ||
		entries[2].Object != "b@example.com" || entries[0].Surface != "cli" {
		t.Fatalf("exported %s", out)
	}
	if err := runbooker.VerifyAuditChain(nil, entries); err != nil {
		t.Errorf("the exported entries do not verify: %v", err)
	}
	if !strings.Contains(out, `"actorKind":"system"`) || !strings.Contains(out, `"prevHash":""`) {
		t.Errorf("export does not use the camelCase names: %s", out)
	}
	code, out, _ = runCLI(t, "", "audit", "export", "--action", "user.dis", "--since", "1h", "--data", dir)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "b@example.com") {
		t.Errorf("audit export --action user.dis --since 1h: exit %d, %q", code, out)
	}
	code, out, _ = runCLI(t, "", "audit", "export", "--since", "2999-01-01T00:00:00Z", "--data", dir)
	if code != 0 || out != "" {
		t.Errorf("audit export --since in the future: exit %d, %q", code, out)
	}
	if code, _, errOut := runCLI(t, "", "audit", "export", "--since", "yesterday", "--data", dir); code == 0 || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("audit export --since yesterday: exit %d, %q", code, errOut)
	}
}
