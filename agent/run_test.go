package agent

import "testing"

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
