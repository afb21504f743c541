package catalog

import runbooker "github.com/runbooker/runbooker"

// parsePowerShell is a placeholder until package psparse is available.
func parsePowerShell(src []byte) (*scriptMeta, error) {
	return nil, &runbooker.ParseError{Source: "script", Message: "PowerShell metadata reader not wired yet"}
}
