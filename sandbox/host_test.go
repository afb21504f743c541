package sandbox

import (
	"strings"
	"testing"

	"github.com/runbooker/runbooker/psparse"
)

// The PowerShell host cannot run here (no pwsh), so it is at least checked
// to be well-formed PowerShell and to define what runbooks call.
func TestHostScriptIsWellFormedAndDefinesTheAssetCmdlets(t *testing.T) {
	toks, err := psparse.Tokenize(hostPs1)
	if err != nil {
		t.Fatalf("host.ps1 does not tokenize: %v", err)
	}
	defined := map[string]bool{}
	for i := 0; i+1 < len(toks); i++ {
		if strings.EqualFold(toks[i].Text, "function") {
			defined[strings.TrimPrefix(strings.ToLower(toks[i+1].Text), "global:")] = true
		}
	}
	for _, name := range []string{"get-automationvariable", "set-automationvariable", "get-automationpscredential",
		"get-automationconnection", "get-automationcertificate", "write-progress"} {
		if !defined[name] {
			t.Errorf("host.ps1 does not define %s", name)
		}
	}
}
