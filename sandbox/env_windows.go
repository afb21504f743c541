//go:build windows

package sandbox

import "strings"

// allowEnv lists the worker's variables a runbook inherits: what Windows
// programs need to start and to locate programs, never credentials.
var allowEnv = []string{
	"PATH", "PATHEXT", "SystemRoot", "SystemDrive", "windir", "ComSpec", "OS",
	"PROCESSOR_ARCHITECTURE", "PROCESSOR_IDENTIFIER", "PROCESSOR_LEVEL", "PROCESSOR_REVISION",
	"NUMBER_OF_PROCESSORS", "ProgramFiles", "ProgramFiles(x86)", "ProgramW6432", "ProgramData",
	"CommonProgramFiles", "CommonProgramFiles(x86)", "CommonProgramW6432", "PSModulePath",
	"LANG", "TZ",
}

// homeEnv are the variables that point to the job's own directory.
var homeEnv = []string{"HOME", "USERPROFILE", "TEMP", "TMP", "APPDATA", "LOCALAPPDATA"}

func envKeyEqual(a, b string) bool { return strings.EqualFold(a, b) }
