//go:build windows

package sandbox

import "strings"

// allowEnv lists the worker's variables a runbook inherits (see
// windowsAllowEnv).
var allowEnv = windowsAllowEnv

// homeEnv are the variables that point to the job's own directory.
var homeEnv = []string{"HOME", "USERPROFILE", "TEMP", "TMP", "APPDATA", "LOCALAPPDATA"}

func envKeyEqual(a, b string) bool { return strings.EqualFold(a, b) }
