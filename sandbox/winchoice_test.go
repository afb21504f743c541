package sandbox

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

func TestPowerShellForFallsBackToWindowsPowerShell(t *testing.T) {
	const pwsh, winps = `C:\Program Files\PowerShell\7\pwsh.exe`, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	for _, c := range []struct {
		goos, edition, pwsh, winps, want string
	}{
		{"windows", "", pwsh, winps, pwsh},
		{"windows", "pwsh", pwsh, winps, pwsh},
		{"windows", "", "", winps, winps}, // stock Windows Server: no PowerShell 7
		{"windows", "pwsh", "", winps, winps},
		{"windows", "PowerShell", pwsh, winps, winps},
		{"windows", "powershell", winps, "", ""}, // 5.1 asked for and missing: "" fails the job
		{"linux", "", "", "", ""},                // no fallback off Windows
		{"linux", "pwsh", "/usr/bin/pwsh", "", "/usr/bin/pwsh"},
	} {
		got, _, err := powerShellFor(c.goos, c.edition, c.pwsh, c.winps)
		if err != nil || got != c.want {
			t.Errorf("powerShellFor(%s, %q, %q, %q) = %q, %v; want %q", c.goos, c.edition, c.pwsh, c.winps, got, err, c.want)
		}
	}
	if _, _, err := powerShellFor("windows", "powershell6", pwsh, winps); err == nil {
		t.Error("an unknown edition was accepted")
	}
	// The job's error names what is missing.
	in := Interpreters{}
	_, err := in.planFor(Spec{Language: runbooker.LangPowerShell, Script: []byte("1")}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no pwsh interpreter") {
		t.Errorf("no interpreter at all: %v", err)
	}
}

func TestPythonEnvOnWindowsKeepsANSIFiles(t *testing.T) {
	if got := pythonEnv("windows"); !slices.Equal(got, []string{"PYTHONIOENCODING=utf-8"}) {
		t.Errorf("windows: %v", got)
	}
	if got := pythonEnv("linux"); !slices.Contains(got, "PYTHONUTF8=1") || !slices.Contains(got, "PYTHONIOENCODING=utf-8") {
		t.Errorf("linux: %v", got)
	}
}

func TestWindowsEnvironmentAllowList(t *testing.T) {
	for _, k := range []string{"USERNAME", "USERDOMAIN", "USERDNSDOMAIN", "COMPUTERNAME", "LOGONSERVER",
		"ALLUSERSPROFILE", "PUBLIC", "HOMEDRIVE", "HOMEPATH", "SystemRoot", "Path", "pathext", "ComputerName"} {
		if !allowedIn(windowsAllowEnv, k, true) {
			t.Errorf("%s does not reach runbooks on Windows", k)
		}
	}
	for _, k := range []string{"RUNBOOKER_TOKEN", "RUNBOOKER_MASTER_KEY", "USERPROFILE", "APPDATA", "AWS_SECRET_ACCESS_KEY", "USERNAMEX"} {
		if allowedIn(windowsAllowEnv, k, true) {
			t.Errorf("%s reaches runbooks on Windows", k)
		}
	}
	if allowedIn([]string{"PATH"}, "Path", false) {
		t.Error("Unix compared variable names without case")
	}
}

func TestWSLBashIsRefused(t *testing.T) {
	for path, want := range map[string]bool{
		`C:\Windows\System32\bash.exe`:                              true,
		`c:\windows\system32\BASH.EXE`:                              true,
		`C:\Windows\Sysnative\bash.exe`:                             true,
		`C:\Users\ada\AppData\Local\Microsoft\WindowsApps\bash.exe`: true,
		`C:\Program Files\Git\bin\bash.exe`:                         false,
		`C:\Program Files\Git\usr\bin\bash.exe`:                     false,
		`C:\msys64\usr\bin\bash.exe`:                                false,
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`: false,
	} {
		if got := isWSLBash(path, `C:\Windows`); got != want {
			t.Errorf("isWSLBash(%s) = %v", path, got)
		}
	}
	if !isWSLBash(`D:\WINNT\System32\bash.exe`, `D:\WINNT\`) {
		t.Error("SystemRoot elsewhere")
	}
	// Git Bash after System32 on PATH (the usual order) is still found.
	bash, refused := pickBash([]string{`C:\Windows\System32\bash.exe`, `C:\Program Files\Git\bin\bash.exe`}, `C:\Windows`)
	if bash != `C:\Program Files\Git\bin\bash.exe` || refused != `C:\Windows\System32\bash.exe` {
		t.Errorf("pickBash: %q, refused %q", bash, refused)
	}
	bash, refused = pickBash([]string{`C:\Windows\System32\bash.exe`}, `C:\Windows`)
	if bash != "" || refused == "" {
		t.Fatalf("only WSL: %q, refused %q", bash, refused)
	}
	in := Interpreters{BashRefused: refused}
	_, err := in.planFor(Spec{Language: runbooker.LangBash, Script: []byte("echo hi")}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "WSL") || !strings.Contains(err.Error(), "Git for Windows") {
		t.Errorf("a Bash job with only WSL's bash: %v", err)
	}
	if slices.Contains(in.Languages(), runbooker.LangBash) {
		t.Error("a worker with only WSL's bash says it runs Bash")
	}
}

// splitWindowsArgs parses a command line as CommandLineToArgvW (and the
// MSYS runtime) do, telling which arguments were quoted throughout.
func splitWindowsArgs(line string) (args []string, quoted []bool) {
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		var b strings.Builder
		inQuote, sawQuote, outside := false, false, false
		for i < len(line) && (inQuote || line[i] != ' ') {
			switch line[i] {
			case '\\':
				n := 0
				for i < len(line) && line[i] == '\\' {
					n++
					i++
				}
				if i < len(line) && line[i] == '"' {
					b.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						b.WriteByte('"')
						i++
					}
				} else {
					b.WriteString(strings.Repeat(`\`, n))
				}
				continue
			case '"':
				inQuote, sawQuote = !inQuote, true
			default:
				outside = outside || !inQuote
				b.WriteByte(line[i])
			}
			i++
		}
		args, quoted = append(args, b.String()), append(quoted, sawQuote && !outside)
	}
	return args, quoted
}

func TestMSYSCommandLineQuotesEveryArgument(t *testing.T) {
	argv := []string{`C:\Program Files\Git\bin\bash.exe`, "runbook.sh", "--Pattern", "*.log", "--Q", "a?b", "--Set", "[abc]",
		"--Empty", "", "--Quote", `say "hi"`, "--Dir", `C:\tmp\`, "--Mixed", `a\\"b\`}
	line := msysCommandLine(argv)
	args, quoted := splitWindowsArgs(line)
	if !slices.Equal(args, argv) {
		t.Fatalf("the command line %s reads back as %q", line, args)
	}
	for i, q := range quoted {
		if !q {
			t.Errorf("argument %d (%q) is not quoted: MSYS would glob it", i, args[i])
		}
	}
	if !strings.Contains(line, `"*.log"`) || !strings.Contains(line, `"[abc]"`) {
		t.Errorf("command line %s", line)
	}
}

func TestCodePageDecoding(t *testing.T) {
	// A console tool on a German Windows writes code page 850: "Grüße" is
	// 47 72 81 E1 65 there, and 47 72 FC DF 65 in the ANSI code page 1252.
	lr := &lineReader{maxLine: 64, maxFrame: 64, now: func() time.Time { return testEpoch }, decode: codePageDecoder(850)}
	var recs []runbooker.StreamRecord
	lr.run(&chunkedReader{data: []byte("Gr\x81\xe1e\nplain ü UTF-8\nnul\x00\n")}, func(c chunk) bool {
		recs = append(recs, c.recs...)
		return true
	})
	want := []string{"Grüße", "plain ü UTF-8", "nul\uFFFD"}
	if len(recs) != len(want) {
		t.Fatalf("records %+v", recs)
	}
	for i, w := range want {
		if recs[i].Text != w {
			t.Errorf("line %d: %q, want %q", i, recs[i].Text, w)
		}
	}
	if got := codePageDecoder(1252)("Gr\xfc\xdfe"); got != "Grüße" {
		t.Errorf("1252: %q", got)
	}
	if got := codePageDecoder(866)("\x8f\xe0\xa8\xa2\xa5\xe2"); got != "Привет" {
		t.Errorf("866: %q", got)
	}
	if codePageDecoder(932) != nil || codePageDecoder(65001) != nil {
		t.Error("a multi-byte code page got a single-byte decoder")
	}
	// Without a decoder (Unix) bad bytes stay U+FFFD, as before.
	recs, _ = readAll([]byte("Gr\x81\xe1e\n"), false, 64, 64, nil)
	if len(recs) != 1 || recs[0].Text != "Gr\uFFFDe" {
		t.Errorf("without a code page: %+v", recs)
	}
}
