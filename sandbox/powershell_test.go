package sandbox_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// PowerShell tests need pwsh (PowerShell 7) on PATH; needLanguage skips
// them otherwise. They exercise the embedded host script (host.ps1).

func pwsh(script string) sandbox.Spec {
	return sandbox.Spec{Language: runbooker.LangPowerShell, Script: []byte(script)}
}

func TestPowerShellParameters(t *testing.T) {
	spec := pwsh(`param(
    [Parameter(Mandatory)][string]$Name, [int]$Count, [switch]$Force, [double]$Ratio,
    [string[]]$Tags, [datetime]$When, [hashtable]$Obj, [string]$DateLike)
"$Name|$Count|$Force|$Ratio|$($Tags -join ',')|$($Tags.Count)"
$When.ToUniversalTime().ToString('o')
$Obj.k
$DateLike
`)
	spec.Params = map[string]any{}
	for k, v := range sampleParams {
		spec.Params[k] = v
	}
	delete(spec.Params, "Unset")
	spec.Params["DateLike"] = "2024-05-06T07:08:09Z" // must stay a string in PowerShell 7
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{
		"Jane Doe|5|True|1.5|a,b c|2", "2024-05-06T07:08:09.0000000Z", "v", "2024-05-06T07:08:09Z",
	})
}

func TestPowerShellStreams(t *testing.T) {
	res, s := run(t, pwsh(`$VerbosePreference = 'Continue'; $DebugPreference = 'Continue'
$InformationPreference = 'Continue'
Write-Output 'plain'
[pscustomobject]@{ Id = 1; Name = 'Grüße' }
Write-Verbose 'v'
Write-Warning 'w'
Write-Debug 'd'
Write-Information 'i'
Write-Host 'h'
Write-Error 'e'
Write-Progress -Activity 'Copy' -Status 'half' -PercentComplete 50
42
`))
	wantStatus(t, res, runbooker.StatusCompleted)
	type rec struct {
		typ  runbooker.StreamType
		text string
	}
	var got []rec
	for _, r := range s.records() {
		got = append(got, rec{r.Type, r.Text})
	}
	want := []rec{{"Output", "plain"}, {"Output", ""}, {"Verbose", "v"}, {"Warning", "w"}, {"Debug", "d"},
		{"Information", "i"}, {"Information", "h"}, {"Error", "e"}, {"Progress", "Copy: half (50%)"}, {"Output", "42"}}
	if len(got) != len(want) {
		t.Fatalf("records\n got %q\nwant %q", got, want)
	}
	recs := s.records()
	for i := range want {
		if got[i].typ != want[i].typ || (want[i].text != "" && got[i].text != want[i].text) {
			t.Errorf("record %d is %q, want %q", i, got[i], want[i])
		}
	}
	var obj struct {
		ID   int    `json:"Id"`
		Name string `json:"Name"`
	}
	if err := json.Unmarshal(recs[1].Value, &obj); err != nil || obj.ID != 1 || obj.Name != "Grüße" {
		t.Errorf("object value %s: %v", recs[1].Value, err)
	}
	if !strings.Contains(recs[1].Text, "Grüße") {
		t.Errorf("object text %q", recs[1].Text)
	}
	var errVal struct{ Message, ErrorID string }
	if err := json.Unmarshal(recs[7].Value, &errVal); err != nil || errVal.Message != "e" {
		t.Errorf("error record value %s: %v", recs[7].Value, err)
	}
	if string(recs[9].Value) != "42" {
		t.Errorf("number value %s", recs[9].Value)
	}
}

func TestPowerShellExceptions(t *testing.T) {
	needLanguage(t, runbooker.LangPowerShell)
	tests := []struct {
		name, script, want string
		exit               int
	}{
		{"throw", "Write-Output 'before'\nthrow 'Mailbox not found'", "Mailbox not found", 1},
		{"stop action", "Get-Item -LiteralPath '/no/such/path' -ErrorAction Stop", "Cannot find path '/no/such/path' because it does not exist.", 1},
		{"exit code", "exit 3", "exit status 3", 3},
		{"error then exit", "Write-Error 'bad'\nexit 2", "bad (exit status 2)", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, s := run(t, pwsh(tt.script))
			wantStatus(t, res, runbooker.StatusFailed)
			if res.Exception != tt.want || res.ExitCode != tt.exit {
				t.Errorf("exception %q exit %d, want %q exit %d", res.Exception, res.ExitCode, tt.want, tt.exit)
			}
			if tt.exit == 1 && len(s.texts(runbooker.StreamError)) == 0 {
				t.Error("a terminating error left no Error record")
			}
		})
	}
	t.Run("missing mandatory parameter", func(t *testing.T) {
		res, _ := run(t, pwsh("param([Parameter(Mandatory)][string]$UserName)\n$UserName"))
		wantStatus(t, res, runbooker.StatusFailed)
		if !strings.Contains(res.Exception, "UserName") {
			t.Errorf("exception %q does not name the parameter", res.Exception)
		}
	})
}

func TestWindowsPowerShellMissing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has Windows PowerShell")
	}
	spec := pwsh("'hi'")
	spec.PowerShell = "powershell"
	res := interpreters().Run(t.Context(), spec, nil)
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "Windows PowerShell") {
		t.Errorf("exception %q", res.Exception)
	}
}
