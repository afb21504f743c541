package gitsync_test

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/gitsync/gittest"
	"github.com/runbooker/runbooker/keyring"
	"github.com/runbooker/runbooker/sqlite"
)

var benchCategories = []string{"general", "security", "mail", "licensing", "devices", "phone", "teams", "onboarding", "reporting", "network"}

// benchPS is a RealmJoin-style PowerShell runbook: comment-based help,
// customization, #Requires, a param block with UI hints and validation.
func benchPS(i int) string {
	return fmt.Sprintf(`<#
  .SYNOPSIS
  Runbook number %[1]d: update a user's settings.

  .DESCRIPTION
  Reads the user from Microsoft Graph, changes the settings chosen in the form
  and writes an audit line. Runbook %[1]d of the benchmark catalog.

  .NOTES
  Permissions: MS Graph (API) User.ReadWrite.All, Directory.Read.All

  .INPUTS
  RunbookCustomization: {
      "Parameters": {
          "UserName": { "Hide": true },
          "Mode": { "DisplayName": "What to do", "SelectSimple": { "Enable it": "Enable", "Disable it": "Disable" } },
          "CallerName": { "Hide": true }
      }
  }
#>

#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.3" }

param(
    [Parameter(Mandatory = $true)]
    [ValidateScript( { Use-RJInterface -Type Graph -Entity User -DisplayName "User" } )]
    [String] $UserName,
    [ValidateSet("Enable", "Disable")]
    [string] $Mode = "Enable",
    [ValidateRange(1, 365)]
    [int] $Days = %[1]d,
    [bool] $Notify = $false,
    [ValidateScript( { Use-RJInterface -Type Textarea } )]
    [string] $Comment = "",
    # CallerName is tracked purely for auditing purposes
    [Parameter(Mandatory = $true)]
    [string] $CallerName
)

Connect-RjRbGraph
$user = Invoke-RjRbRestMethod -Method GET -Resource "/users/$UserName"
if (-not $user) {
    throw "User $UserName not found."
}
"## Setting mode $Mode for $($user.userPrincipalName) ($Days days)"
foreach ($n in 1..3) {
    Write-RjRbLog -Message "step $n" -Data @{ user = $UserName; mode = $Mode }
}
"## done"
`, i)
}

func benchPy(i int) string {
	return fmt.Sprintf(`#!/usr/bin/env python3
"""Report number %[1]d: list devices that did not check in.

Queries the inventory and prints one line per stale device.

Args:
    Days: How many days without check-in count as stale.
    Platform: Only this platform.
    Verbose: Print every device, not only stale ones.
"""
import datetime
from typing import Literal


def main(Days: int = %[1]d, Platform: Literal["windows", "macos", "linux"] = "windows", Verbose: bool = False):
    cutoff = datetime.datetime.now() - datetime.timedelta(days=Days)
    print(f"stale before {cutoff:%%Y-%%m-%%d} on {Platform}")
    if Verbose:
        print("VERBOSE: listing everything")
`, i)
}

func benchSh(i int) string {
	return fmt.Sprintf(`#!/usr/bin/env bash
# Synopsis: Check number %[1]d: report file systems running out of space.
# Description: Lists every mounted file system with its usage
#   and warns about those above the threshold.
#
# @param WarnPercent int default=80 range=1..100 - Usage that triggers a warning.
# @param FailPercent int default=95 range=1..100 - Usage that fails the job.
# @param Mount string default=/ - Mount point to check.
set -euo pipefail
df -h "${RB_PARAM_Mount:-/}"
echo "check %[1]d done"
`, i)
}

// benchRepo commits n runbooks, 60%% PowerShell (a third with side files),
// 20%% Python, 20%% Bash, spread over scopes and categories.
func benchRepo(tb testing.TB, n int) (*gittest.Repo, map[string]string) {
	up := gittest.New(tb)
	files := map[string]string{}
	for i := range n {
		scope := catalog.Scopes[i%len(catalog.Scopes)]
		dir := scope + "/" + benchCategories[(i/4)%len(benchCategories)] + "/"
		switch {
		case i%5 < 3:
			base := fmt.Sprintf("%sset-user-setting-%04d", dir, i)
			files[base+".ps1"] = benchPS(i)
			if i%3 == 0 {
				files[base+".permissions.json"] = `{"Permissions": [{"Name": "User.ReadWrite.All", "Type": "Graph"}]}`
				files[base+".md"] = fmt.Sprintf("# Runbook %d\n\nWhat it does, in detail.\n", i)
			}
		case i%5 == 3:
			files[fmt.Sprintf("%sstale-devices-%04d.py", dir, i)] = benchPy(i)
		default:
			files[fmt.Sprintf("%sdisk-check-%04d.sh", dir, i)] = benchSh(i)
		}
	}
	for p, c := range files {
		up.Write("main", p, c)
	}
	up.Commit("main", fmt.Sprintf("%d runbooks", n))
	return up, files
}

func benchEnv(b *testing.B, url string) (*gitsync.Syncer, *sqlite.DB) {
	b.Helper()
	dir := b.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "runbooker.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	keys, _ := keyring.New(keyring.Generate())
	sy := gitsync.New(st, keys, testConfig(filepath.Join(dir, "git")), quiet)
	if _, _, err := sy.PutSource(context.Background(), tenant, gitsync.SourceInput{Source: gitsync.Source{ID: "rj", URL: url}}); err != nil {
		b.Fatal(err)
	}
	return sy, st
}

// BenchmarkSync1000 syncs a repository of 1,000 runbooks: the first sync
// (clone, parse, store), a re-sync with nothing new, and a sync of a commit
// that changes 10 runbooks.
func BenchmarkSync1000(b *testing.B) {
	const n = 1000
	up, files := benchRepo(b, n)
	ctx := context.Background()
	b.Run("first", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			sy, _ := benchEnv(b, up.Dir)
			b.StartTimer()
			rep, err := sy.Sync(ctx, tenant, "rj")
			if err != nil || len(rep.Added) != n {
				b.Fatalf("%v %d added, errors %v", err, len(rep.Added), rep.Errors)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "runbooks/s")
	})
	b.Run("resync", func(b *testing.B) {
		sy, _ := benchEnv(b, up.Dir)
		if _, err := sy.Sync(ctx, tenant, "rj"); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rep, err := sy.Sync(ctx, tenant, "rj")
			if err != nil || rep.Unchanged != n {
				b.Fatalf("%v %+v", err, rep)
			}
		}
	})
	b.Run("change10", func(b *testing.B) {
		sy, _ := benchEnv(b, up.Dir)
		if _, err := sy.Sync(ctx, tenant, "rj"); err != nil {
			b.Fatal(err)
		}
		var scripts []string
		for p := range files {
			if _, ok := runbooker.LanguageFromExt(path.Ext(p)); ok && !strings.HasSuffix(p, ".json") {
				scripts = append(scripts, p)
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			for j := range 10 {
				p := scripts[(i*10+j)%len(scripts)]
				files[p] += fmt.Sprintf("\n# edit %d\n", i)
				up.Write("main", p, files[p])
			}
			up.Commit("main", "ten edits")
			b.StartTimer()
			rep, err := sy.Sync(ctx, tenant, "rj")
			if err != nil || len(rep.Updated) != 10 {
				b.Fatalf("%v %+v", err, rep)
			}
		}
	})
}

// BenchmarkAnalyze1000 parses the same 1,000 runbooks without git or store:
// the parsing share of a first sync.
func BenchmarkAnalyze1000(b *testing.B) {
	_, files := benchRepo(b, 1000)
	var ins []catalog.AnalyzeInput
	for p, c := range files {
		ext := path.Ext(p)
		if _, ok := runbooker.LanguageFromExt(ext); !ok || ext == "" {
			continue
		}
		name, lang, err := catalog.PathToName(catalog.DefaultPrefix, p)
		if err != nil {
			b.Fatal(err)
		}
		base := strings.TrimSuffix(p, ext)
		ins = append(ins, catalog.AnalyzeInput{Name: name.Full, Language: lang, Content: []byte(c),
			Permissions: []byte(files[base+".permissions.json"]), Markdown: files[base+".md"]})
	}
	if len(ins) != 1000 {
		b.Fatalf("%d scripts", len(ins))
	}
	b.ResetTimer()
	for b.Loop() {
		for _, in := range ins {
			meta, _, err := catalog.Analyze(in)
			if err != nil || meta.ParseError != nil {
				b.Fatalf("%s: %v %v", in.Name, err, meta.ParseError)
			}
		}
	}
}
