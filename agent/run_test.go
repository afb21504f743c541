package agent

import (
	"strconv"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

func TestPSEditionFromRequires(t *testing.T) {
	for src, want := range map[string]string{
		"#Requires -PSEdition Desktop\nparam()":                      "powershell",
		"#requires -Version 5.1 -PSEdition core\n":                   "pwsh",
		"  #REQUIRES -Modules Az -PSEdition Desktop\r\nWrite-Output": "powershell",
		"# requires nothing\nWrite-Output 1":                         "",
		"Write-Output '#Requires -PSEdition Desktop'":                "",
	} {
		if got := psEdition([]byte(src)); got != want {
			t.Errorf("psEdition(%q) = %q, want %q", src, got, want)
		}
	}
}

// A PowerShell job's host learns the runbook's "log verbose records"
// setting from the job (issue 14, 1.12).
func TestPowerShellEnvCarriesLogVerbose(t *testing.T) {
	for _, on := range []bool{true, false} {
		env := powerShellEnv(&runbooker.Job{LogVerbose: on})
		if want := strconv.FormatBool(on); env[sandbox.EnvLogVerbose] != want {
			t.Errorf("LogVerbose %v: %s=%q, want %q", on, sandbox.EnvLogVerbose, env[sandbox.EnvLogVerbose], want)
		}
	}
}
