package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// The host reports the policies it cannot run under (issue 17, item 9).
// Like every PowerShell test these need pwsh on PATH and skip without it.
// A session is put into ConstrainedLanguage mode by hand, as AppLocker or
// WDAC would, and Get-ExecutionPolicy is shadowed by a function answering
// what a Group Policy would.
func TestPowerShellHostReportsPolicies(t *testing.T) {
	pw, err := exec.LookPath("pwsh")
	if err != nil {
		t.Skip("pwsh is not on PATH: PowerShell tests need PowerShell 7 installed")
	}
	dir := t.TempDir()
	host := filepath.Join(dir, hostFile)
	if err := os.WriteFile(host, hostPs1, 0o644); err != nil {
		t.Fatal(err)
	}
	script, params := filepath.Join(dir, "runbook.ps1"), filepath.Join(dir, paramsFile)
	_ = os.WriteFile(script, []byte("'ran'"), 0o644)
	_ = os.WriteFile(params, []byte("{}"), 0o644)
	for _, c := range []struct{ prelude, want string }{
		{`$ExecutionContext.SessionState.LanguageMode = 'ConstrainedLanguage'`, "in ConstrainedLanguage mode"},
		{`function Get-ExecutionPolicy { param($Scope) if ($Scope -eq 'MachinePolicy') { 'AllSigned' } else { 'Undefined' } }`,
			"execution policy to AllSigned (scope MachinePolicy)"},
		{`function Get-ExecutionPolicy { param($Scope) if ($Scope -eq 'UserPolicy') { 'Restricted' } else { 'Undefined' } }`,
			"execution policy to Restricted (scope UserPolicy)"},
	} {
		cmd := exec.Command(pw, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command",
			c.prelude+"; & '"+host+"' -ScriptPath '"+script+"' -ParamsPath '"+params+"'; exit $LASTEXITCODE")
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%s: exit %v, want 1\n%s", c.want, err, out)
		}
		var exc string
		for _, line := range strings.Split(string(out), "\n") {
			line = strings.TrimRight(line, "\r")
			if p, ok := parseFrame(strings.TrimPrefix(line, frameMarker)); ok && strings.HasPrefix(line, frameMarker) && p.exception {
				exc = p.text
			}
			if strings.TrimSpace(line) == "ran" {
				t.Errorf("%s: the runbook ran", c.want)
			}
		}
		if !strings.Contains(exc, c.want) {
			t.Errorf("exception %q does not say %q\n%s", exc, c.want, out)
		}
	}
	// Without such a policy the host runs the runbook.
	res, s := runInternal(t, Spec{Language: runbooker.LangPowerShell, Script: []byte("'ran'")}, Interpreters{PowerShell: pw})
	if res.Status != runbooker.StatusCompleted || len(s) != 1 || s[0].Text != "ran" {
		t.Errorf("a plain runbook: %+v %+v", res, s)
	}
}

// runInternal runs spec to its end and returns the records.
func runInternal(t *testing.T, spec Spec, in Interpreters) (Result, []runbooker.StreamRecord) {
	t.Helper()
	var recs []runbooker.StreamRecord
	res := in.Run(t.Context(), spec, func(r []runbooker.StreamRecord) { recs = append(recs, r...) })
	return res, recs
}
