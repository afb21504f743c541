package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/gitsync"
)

func engineAsset(t, name, value string) engine.AssetInput {
	return engine.AssetInput{TenantID: runbooker.DefaultTenant, Type: runbooker.AssetType(t), Name: name, Value: json.RawMessage(value)}
}

// azurePython is a runbook written for Azure Automation, unchanged.
const azurePython = `#!/usr/bin/env python3
import automationassets
from automationassets import AutomationAssetNotFound

cred = automationassets.get_automation_credential("sql-admin")
print("user is " + cred["username"])
print("password is " + cred["password"])
server = automationassets.get_automation_variable("sql-server")
print("server is " + server)
conn = automationassets.get_automation_connection("graph")
print("tenant is " + conn["TenantId"])
count = automationassets.get_automation_variable("run-count")
automationassets.set_automation_variable("run-count", count + 1)
try:
    automationassets.get_automation_variable("no-such-variable")
except AutomationAssetNotFound:
    print("missing variable reported")
`

func TestAssetsFromPythonAndBashWithMasking(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	for _, a := range []engine.AssetInput{
		engineAsset("credential", "sql-admin", `{"userName":"sa","password":"Tr0ub4dor&3-horse"}`),
		engineAsset("variable", "sql-server", `"sql01.contoso.local"`),
		engineAsset("variable", "run-count", `41`),
		engineAsset("connection", "graph", `{"type":"AzureServicePrincipal","fields":{"TenantId":"f00d-tenant","ClientSecret":"cl1ent-s3cret-value"}}`),
	} {
		if _, err := s.m.Engine.PutAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	enc := engineAsset("variable", "api-key", `"k3y-0f-the-api"`)
	enc.Encrypted = true
	if _, err := s.m.Engine.PutAsset(ctx, enc); err != nil {
		t.Fatal(err)
	}
	s.put("org_general_azure-python", runbooker.LangPython, azurePython)
	resp := s.runJSON("org_general_azure-python", nil)
	if resp.Status != "Completed" {
		exc, _ := s.client.ExceptionText(ctx, resp.JobID)
		t.Fatalf("python runbook: %s %s", resp.Status, exc)
	}
	var out []string
	for _, r := range resp.Streams {
		out = append(out, r.Summary)
	}
	want := []string{"user is sa", "password is ***", "server is sql01.contoso.local", "tenant is ***", "missing variable reported"}
	if strings.Join(out, "|") != strings.Join(want, "|") {
		t.Errorf("python output\n got %q\nwant %q", out, want)
	}
	v, _, err := s.m.Engine.AssetValue(ctx, runbooker.DefaultTenant, runbooker.AssetVariable, "run-count")
	if err != nil || string(v) != "42" {
		t.Errorf("run-count after set_automation_variable: %s %v", v, err)
	}

	s.put("org_general_bash-assets", runbooker.LangBash, `#!/bin/bash
set -e
key=$(automation-asset get-variable api-key)
echo "calling the API with $key"
automation-asset get-credential sql-admin
automation-asset get-variable sql-server
automation-asset get-variable nope || echo "nope is missing"
`)
	resp = s.runJSON("org_general_bash-assets", nil)
	all := ""
	for _, r := range resp.Streams {
		all += r.StreamType + ":" + r.Summary + "\n"
	}
	if resp.Status != "Completed" || !strings.Contains(all, "Output:calling the API with ***") ||
		!strings.Contains(all, `"password":"***"`) || !strings.Contains(all, "Output:sql01.contoso.local") ||
		!strings.Contains(all, "nope is missing") {
		t.Errorf("bash assets: %s\n%s", resp.Status, all)
	}
	for _, secret := range []string{"k3y-0f-the-api", "Tr0ub4dor&3-horse"} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q not masked:\n%s", secret, all)
		}
	}

	// The management API never returns secret values; plain variables it does.
	a, err := s.client.Asset(ctx, runbooker.AssetCredential, "sql-admin")
	if err != nil || a.Value != nil || !a.Encrypted {
		t.Errorf("credential via API: %v %+v", err, a)
	}
	a, err = s.client.Asset(ctx, runbooker.AssetVariable, "sql-server")
	if err != nil || string(a.Value) != `"sql01.contoso.local"` {
		t.Errorf("plain variable via API: %v %s", err, a.Value)
	}
	// Outside a job the channel refuses: the token died with the job.
	code, _, errOut := s.cli("asset", "set", "credential", "bad", `{"password":"x"}`)
	if code == 0 || !strings.Contains(errOut, "userName") {
		t.Errorf("bad credential value: %d %s", code, errOut)
	}

	// No secret is stored in plain text anywhere in the database files.
	s.stop()
	for _, name := range []string{"runbooker.db", "runbooker.db-wal"} {
		b, err := os.ReadFile(filepath.Join(s.m.Config.DataDir, name))
		if err != nil {
			continue
		}
		for _, secret := range []string{"Tr0ub4dor&3-horse", "k3y-0f-the-api", "cl1ent-s3cret-value"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains the plaintext secret %q", name, secret)
			}
		}
	}
}

func TestRotateKeyResealsAssets(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	if _, err := s.m.Engine.PutAsset(ctx, engineAsset("credential", "svc", `{"userName":"u","password":"p4ssw0rd-rot"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.m.Syncer.CreateSource(ctx, runbooker.DefaultTenant, gitsync.SourceInput{
		Source:      gitsync.Source{ID: "upstream", URL: "https://localhost:1/runbooks.git", Prefix: "rjgit-"},
		Credentials: &gitsync.Credentials{Username: "bot", Token: "t0ken-rot"},
	}); err != nil {
		t.Fatal(err)
	}
	oldKey := s.m.Keyring.Current()
	dir := s.m.Config.DataDir
	s.stop()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"rotate-key", "--data", dir}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "re-sealed 2") {
		t.Fatalf("rotate-key: %d %s %s", code, out.String(), errb.String())
	}
	s2 := startServer(t, func(c *ServeConfig) { c.DataDir = dir; c.DB = "sqlite:" + filepath.Join(dir, "runbooker.db") })
	if s2.m.Keyring.Current() == oldKey || len(s2.m.Keyring.Keys()) != 1 {
		t.Fatalf("key not rotated")
	}
	v, _, err := s2.m.Engine.AssetValue(ctx, runbooker.DefaultTenant, runbooker.AssetCredential, "svc")
	if err != nil || !strings.Contains(string(v), "p4ssw0rd-rot") {
		t.Errorf("asset after rotation: %s %v", v, err)
	}
	// The sync source's credentials still open under the new key alone.
	raw, err := s2.m.Store.Setting(ctx, runbooker.DefaultTenant, gitsync.SettingKey)
	if err != nil || !strings.Contains(string(raw), s2.m.Keyring.Current()) || strings.Contains(string(raw), oldKey) {
		t.Errorf("sync sources after rotation: %v %s", err, raw)
	}
	// A sync opens the credentials before it connects (and fails to connect).
	if _, err := s2.m.Syncer.Sync(ctx, runbooker.DefaultTenant, "upstream"); err == nil || strings.Contains(err.Error(), "decrypt") {
		t.Errorf("sync after rotation: %v", err)
	}
}

// TestPowerShellRunbookWithAssets runs where pwsh is installed; these
// machines have none, so it skips with a message there.
func TestPowerShellRunbookWithAssets(t *testing.T) {
	if _, err := exec.LookPath("pwsh"); err != nil {
		t.Skip("pwsh is not on PATH: the PowerShell end-to-end test runs only where PowerShell 7 is installed")
	}
	s := startServer(t)
	ctx := context.Background()
	if _, err := s.m.Engine.PutAsset(ctx, engineAsset("credential", "svc", `{"userName":"svc-user","password":"Pw-0f-the-svc"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.m.Engine.PutAsset(ctx, engineAsset("variable", "counter", `1`)); err != nil {
		t.Fatal(err)
	}
	s.put("user_general_ps-assets", runbooker.LangPowerShell, `param(
    [Parameter(Mandatory = $true)][string] $UserName,
    [int] $Times = 1
)
$cred = Get-AutomationPSCredential -Name "svc"
Write-Output ("user " + $cred.UserName)
Write-Output ("pw " + $cred.GetNetworkCredential().Password)
Set-AutomationVariable -Name "counter" -Value ((Get-AutomationVariable -Name "counter") + $Times)
Write-Verbose "verbose on" -Verbose
Write-Warning "careful"
[pscustomobject]@{ Name = $UserName; Times = $Times }
`)
	resp := s.runJSON("user_general_ps-assets", map[string]any{"UserName": "ada", "Times": 2})
	all := ""
	for _, r := range resp.Streams {
		all += r.StreamType + ":" + r.Summary + "\n"
	}
	if resp.Status != "Completed" || !strings.Contains(all, "Output:user svc-user") || !strings.Contains(all, "Output:pw ***") ||
		!strings.Contains(all, "Verbose:verbose on") || !strings.Contains(all, "Warning:careful") {
		t.Errorf("PowerShell runbook: %s\n%s", resp.Status, all)
	}
	if v, _, _ := s.m.Engine.AssetValue(ctx, runbooker.DefaultTenant, runbooker.AssetVariable, "counter"); string(v) != "3" {
		t.Errorf("counter after Set-AutomationVariable: %s", v)
	}
}
