//go:build !windows

package sandbox

// allowEnv lists the worker's variables a runbook inherits: what locates
// programs and chooses language and time zone, never credentials.
var allowEnv = []string{"PATH", "LANG", "LANGUAGE", "TZ", "PSModulePath"}

// homeEnv are the variables that point to the job's own directory.
var homeEnv = []string{"HOME", "TMPDIR"}

func envKeyEqual(a, b string) bool { return a == b }
