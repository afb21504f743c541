package psparse

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

func extractFile(t *testing.T, name string) *Metadata {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	md, err := Extract(src)
	if err != nil {
		t.Fatalf("Extract(%s): %v", name, err)
	}
	return md
}

func param(t *testing.T, md *Metadata, name string) P {
	t.Helper()
	p, ok := runbooker.FindParameter(md.Parameters, name)
	if !ok {
		t.Fatalf("no parameter %q in %s", name, js(md.Parameters))
	}
	return *p
}

func TestRealmJoinStyleRunbook(t *testing.T) {
	md := extractFile(t, "user_general_offboard-contractor.ps1")
	if md.Synopsis != "Offboard a contractor account" || !strings.HasPrefix(md.Description, "Blocks sign-in for a contractor,") {
		t.Errorf("synopsis %q, description %q", md.Synopsis, md.Description)
	}
	if md.Notes != "Permissions (Graph, application):\n- User.ReadWrite.All\n- GroupMember.ReadWrite.All" {
		t.Errorf("notes %q", md.Notes)
	}
	if len(md.Examples) != 2 || !strings.HasPrefix(md.Examples[0], "Tenant settings sample:\n{") {
		t.Errorf("examples %q", md.Examples)
	}
	if md.CustomizationLine != 28 || !strings.HasPrefix(md.Customization, "{\n        \"Parameters\": {") ||
		!strings.HasSuffix(md.Customization, "},\n        }\n    }") || !strings.Contains(md.Customization, "// shown as a dropdown") {
		t.Errorf("customization at line %d: %q", md.CustomizationLine, md.Customization)
	}
	wantMods := []M{{Name: "RealmJoin.RunbookHelper", Version: "0.8.3", Minimum: true}, {Name: "ExchangeOnlineManagement", Version: "3.4.0", Minimum: true}}
	if !reflect.DeepEqual(md.RequiredModules, wantMods) {
		t.Errorf("modules %s", js(md.RequiredModules))
	}
	if len(md.Parameters) != 9 {
		t.Fatalf("got %d parameters: %s", len(md.Parameters), js(md.Parameters))
	}
	checks := []P{
		{Name: "UserName", Type: "string", Mandatory: true, Description: "UPN of the contractor to offboard.",
			UI: &runbooker.UIHint{Type: "Graph", Entity: "User", DisplayName: "Contractor"}},
		{Name: "blockSignIn", Type: "bool", Default: true, Description: "When true, sign-in is blocked right away.",
			UI: &runbooker.UIHint{Type: "Setting", Attribute: "OffboardContractor.blockSignIn"}},
		{Name: "RetentionDays", Type: "int", Default: int64(30), Description: "Days to keep the account before it is deleted",
			ValidateRange: &runbooker.Range{Min: 1, Max: 365}},
		{Name: "MailboxAction", Type: "string", Default: "Convert", ValidateSet: []string{"Keep", "Convert", "Delete"}},
		{Name: "DeleteAfter", Type: "datetime", DefaultExpr: "(Get-Date).AddDays(30)", UI: &runbooker.UIHint{Type: "DateTime", Date: ptrB(true)}},
		{Name: "CallerName", Type: "string", Mandatory: true, Description: "Who started the runbook (for the audit trail)."},
	}
	for _, want := range checks {
		if got := param(t, md, want.Name); !reflect.DeepEqual(got, want) {
			t.Errorf("parameter %s\n got %s\nwant %s", want.Name, js(got), js(want))
		}
	}
}

func TestTestdataRunbooks(t *testing.T) {
	t.Run("two-space style with mixed requires", func(t *testing.T) {
		md := extractFile(t, "device_security_quarantine.ps1")
		if !reflect.DeepEqual(md.RequiredModules, []M{{Name: "RealmJoin.RunbookHelper", Version: "0.8.5", Minimum: true}, {Name: "ExchangeOnlineManagement"}}) {
			t.Errorf("modules %s", js(md.RequiredModules))
		}
		if p := param(t, md, "Until"); p.Type != "datetime" || p.DefaultExpr != "((get-date) + (new-timespan -Days 7))" {
			t.Errorf("Until %s", js(p))
		}
		if p := param(t, md, "Comment"); !p.Mandatory || p.Default != "Possible security risk." {
			t.Errorf("Comment %s", js(p))
		}
		if md.CustomizationLine != 13 || !strings.Contains(md.Customization, `"Release device": true`) {
			t.Errorf("customization at %d: %q", md.CustomizationLine, md.Customization)
		}
	})
	t.Run("bom and crlf", func(t *testing.T) {
		md := extractFile(t, "group_general_check-assignments.ps1")
		if md.Synopsis != "Check policy assignments of one or more groups" {
			t.Errorf("synopsis %q", md.Synopsis)
		}
		want := P{Name: "GroupIDs", Type: "string[]", Mandatory: true, Description: "Groups to check.", UI: &runbooker.UIHint{Type: "Graph", Entity: "Group"}}
		if p := param(t, md, "GroupIDs"); !reflect.DeepEqual(p, want) {
			t.Errorf("GroupIDs %s", js(p))
		}
		if p := param(t, md, "IncludeApps"); p.Description != "Also look at app assignments." {
			t.Errorf("IncludeApps %s", js(p))
		}
	})
	t.Run("legacy line comments", func(t *testing.T) {
		md := extractFile(t, "org_general_temp-access-pass.ps1")
		if md.Synopsis != "" || len(md.Parameters) != 3 {
			t.Errorf("synopsis %q, %d parameters", md.Synopsis, len(md.Parameters))
		}
		if !reflect.DeepEqual(md.RequiredModules, []M{{Name: "MEMPSToolkit"}, {Name: "RealmJoin.RunbookHelper"}}) {
			t.Errorf("modules %s", js(md.RequiredModules))
		}
		want := P{Name: "lifetimeInMinutes", Type: "int", Default: int64(240), Description: "How long (starting now) is the pass valid?", UI: &runbooker.UIHint{Type: "Number"}}
		if p := param(t, md, "lifetimeInMinutes"); !reflect.DeepEqual(p, want) {
			t.Errorf("lifetimeInMinutes %s", js(p))
		}
	})
	t.Run("line help, cmdletbinding, odd casing", func(t *testing.T) {
		md := extractFile(t, "org_general_line-help.ps1")
		if !md.CmdletBinding || md.Synopsis != "Export licence usage to a storage account." || len(md.Examples) != 1 {
			t.Errorf("cmdletbinding %v synopsis %q examples %q", md.CmdletBinding, md.Synopsis, md.Examples)
		}
		wantMods := []M{{Name: "Az.Accounts"}, {Name: "Az.Storage", Version: "6.1.0"}, {Name: "Microsoft.Graph.Users"}}
		if !reflect.DeepEqual(md.RequiredModules, wantMods) {
			t.Errorf("modules %s", js(md.RequiredModules))
		}
		want := []P{
			{Name: "containerName", Type: "string", Mandatory: true, Description: "Blob container that receives the CSV."},
			{Name: "MaxRows", Type: "int", Mandatory: true, Default: int64(50000), ValidateRange: &runbooker.Range{Min: 1, Max: 2147483647}},
			{Name: "DryRun", Type: "switch"},
			{Name: "TempPath", Type: "string", DefaultExpr: "$env:TEMP", Description: "Where the CSV is written\nbefore upload."},
			{Name: "Format", Type: "object", Default: "csv", ValidateSet: []string{"csv", "json"}},
			{Name: "Skus", Type: "string[]", Default: []string{"ENTERPRISEPACK", "SPE_E5"}},
			{Name: "Untyped", Type: "object"},
		}
		if !reflect.DeepEqual(md.Parameters, want) {
			t.Errorf("parameters\n got %s\nwant %s", js(md.Parameters), js(want))
		}
	})
}

// TestNoParamBlock checks the shape of the answer for a script without
// parameters: an empty, non-nil list (it encodes as [] in the API).
func TestNoParamBlock(t *testing.T) {
	md, err := Extract([]byte("'hello'"))
	if err != nil || md.Parameters == nil || len(md.Parameters) != 0 {
		t.Fatalf("Extract = %+v, %v", md, err)
	}
	if md, err := Extract(nil); err != nil || md == nil {
		t.Fatalf("Extract(nil) = %v, %v", md, err)
	}
}
