package sandbox

import (
	"fmt"
	"strings"
)

// The choices a Windows worker makes, as plain functions of their inputs so
// that they are tested on every system; the Windows-only files only feed
// them what the system says.

// powerShellFor picks the interpreter of a PowerShell edition: "" and
// "pwsh" mean PowerShell 7, "powershell" Windows PowerShell 5.1. On Windows
// a worker without pwsh runs the default edition with powershell.exe, which
// every Windows has: stock Windows Server has no PowerShell 7. A runbook that
// says #Requires -PSEdition Core then fails with PowerShell's own message.
func powerShellFor(goos, edition, pwsh, windowsPS string) (path, name string, err error) {
	switch strings.ToLower(edition) {
	case "", "pwsh":
		if pwsh == "" && goos == "windows" && windowsPS != "" {
			return windowsPS, "powershell.exe (Windows PowerShell 5.1)", nil
		}
		return pwsh, "pwsh", nil
	case "powershell":
		return windowsPS, "powershell.exe (Windows PowerShell 5.1)", nil
	}
	return "", "", fmt.Errorf("unknown PowerShell edition %q (want pwsh or powershell)", edition)
}

// windowsAllowEnv lists the worker's variables a runbook inherits on
// Windows: what Windows programs need to start and to locate programs, and
// who and where they run (user, domain, computer, logon server, the shared
// profile folders), never credentials.
var windowsAllowEnv = []string{
	"PATH", "PATHEXT", "SystemRoot", "SystemDrive", "windir", "ComSpec", "OS",
	"PROCESSOR_ARCHITECTURE", "PROCESSOR_IDENTIFIER", "PROCESSOR_LEVEL", "PROCESSOR_REVISION",
	"NUMBER_OF_PROCESSORS", "ProgramFiles", "ProgramFiles(x86)", "ProgramW6432", "ProgramData",
	"CommonProgramFiles", "CommonProgramFiles(x86)", "CommonProgramW6432", "PSModulePath",
	"USERNAME", "USERDOMAIN", "USERDNSDOMAIN", "COMPUTERNAME", "LOGONSERVER",
	"ALLUSERSPROFILE", "PUBLIC", "HOMEDRIVE", "HOMEPATH",
	"LANG", "TZ",
}

// allowedIn reports whether variable k is on list, as Windows compares
// names (fold) or as Unix does.
func allowedIn(list []string, k string, fold bool) bool {
	for _, a := range list {
		if k == a || fold && strings.EqualFold(k, a) {
			return true
		}
	}
	return false
}

// pythonEnv is the environment that makes Python read and write UTF-8 on
// its pipes. UTF-8 mode (PYTHONUTF8) also changes open()'s default, which
// on Windows breaks scripts that read files in the ANSI code page: there
// only the standard streams are set.
func pythonEnv(goos string) []string {
	if goos == "windows" {
		return []string{"PYTHONIOENCODING=utf-8"}
	}
	return []string{"PYTHONUTF8=1", "PYTHONIOENCODING=utf-8"}
}

// isWSLBash reports whether a bash.exe found on PATH is the Windows
// Subsystem for Linux's launcher (System32\bash.exe, or an app alias under
// WindowsApps) rather than a Windows bash such as Git Bash. WSL's bash runs
// the script in a Linux distribution: it does not pass on RB_PARAM_* and
// RB_ASSET_* (only what WSLENV lists), and LocalSystem has no distribution.
func isWSLBash(path, systemRoot string) bool {
	p := strings.ToLower(strings.ReplaceAll(path, "/", `\`))
	if strings.Contains(p, `\microsoft\windowsapps\`) {
		return true
	}
	if systemRoot == "" {
		systemRoot = `C:\Windows`
	}
	root := strings.TrimSuffix(strings.ToLower(systemRoot), `\`)
	for _, dir := range []string{`\system32\`, `\sysnative\`, `\syswow64\`} {
		if p == root+dir+"bash.exe" {
			return true
		}
	}
	return false
}

// pickBash chooses the first of the bash binaries found on PATH, in PATH
// order, that is not WSL's. refused names the WSL bash passed over, so
// that a worker with no other can say why it runs no Bash runbooks.
func pickBash(found []string, systemRoot string) (bash, refused string) {
	for _, p := range found {
		if isWSLBash(p, systemRoot) {
			if refused == "" {
				refused = p
			}
			continue
		}
		return p, refused
	}
	return "", refused
}

// wslBashError is the error of a Bash job on a Windows worker whose only
// bash is WSL's.
func wslBashError(path string) error {
	return fmt.Errorf("the only bash on this worker's PATH is WSL's %s, which cannot run runbooks: it does not pass "+
		"the runbook's parameters and asset variables (RB_PARAM_*, RB_ASSET_*) into Linux, and the service account "+
		"has no Linux distribution; install Git for Windows and put its bin folder (with bash.exe) on the worker's PATH", path)
}

// msysCommandLine is the Windows command line of a Git Bash (MSYS2)
// process. The MSYS runtime expands *, ? and [ in every argument that is
// not in double quotes, as a Unix shell would, so every argument is quoted,
// with the backslash rules of CommandLineToArgvW (which MSYS follows):
// backslashes are literal unless they precede a quote, where they double.
func msysCommandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		slashes := 0
		for j := 0; j < len(a); j++ {
			c := a[j]
			switch c {
			case '\\':
				slashes++
			case '"':
				b.WriteString(strings.Repeat(`\`, slashes+1))
				slashes = 0
			default:
				slashes = 0
			}
			b.WriteByte(c)
		}
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
	return b.String()
}
