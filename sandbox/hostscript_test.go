package sandbox

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

func TestCheckHostScript(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := CheckHostScript(write("plain.ps1", HostScript())); err != nil {
		t.Errorf("the script as written: %v", err)
	}
	// What Set-AuthenticodeSignature and an editor on Windows leave: a BOM,
	// CRLF line ends and the signature block.
	signed := append(append([]byte{}, utf8BOM...), bytes.ReplaceAll(HostScript(), []byte("\n"), []byte("\r\n"))...)
	signed = append(signed, "\r\n# SIG # Begin signature block\r\n# MIIFZQYJKoZIhvcNAQcCoIIFVjCCBVICAQExDzAN\r\n# SIG # End signature block\r\n"...)
	if err := CheckHostScript(write("signed.ps1", signed)); err != nil {
		t.Errorf("a signed copy: %v", err)
	}
	changed := bytes.Replace(HostScript(), []byte("Stop-RbPolicy"), []byte("Stop-RbPolicx"), 1)
	if err := CheckHostScript(write("changed.ps1", changed)); err == nil || !strings.Contains(err.Error(), "not the one of this version") {
		t.Errorf("a changed host script: %v", err)
	}
	if err := CheckHostScript(filepath.Join(dir, "missing.ps1")); err == nil {
		t.Error("a missing host script passed")
	}
}

// TestHostScriptSignedByOsslsigncode signs the host script for real, as
// Set-AuthenticodeSignature would on Windows, where osslsigncode is there.
func TestHostScriptSignedByOsslsigncode(t *testing.T) {
	sign, err1 := exec.LookPath("osslsigncode")
	openssl, err2 := exec.LookPath("openssl")
	if err1 != nil || err2 != nil {
		t.Skip("osslsigncode and openssl are needed to sign a script")
	}
	dir := t.TempDir()
	key, cert := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	if out, err := exec.Command(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-days", "1", "-subj", "/CN=Runbooker test", "-addext", "extendedKeyUsage=codeSigning").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	in, out := filepath.Join(dir, "rbhost.ps1"), filepath.Join(dir, "rbhost-signed.ps1")
	if err := os.WriteFile(in, HostScript(), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(sign, "sign", "-certs", cert, "-key", key, "-in", in, "-out", out).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode sign: %v\n%s", err, b)
	}
	if b, err := exec.Command(sign, "verify", "-CAfile", cert, "-in", out).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode verify: %v\n%s", err, b)
	}
	if err := CheckHostScript(out); err != nil {
		t.Errorf("the signed host script: %v", err)
	}
	b, _ := os.ReadFile(out)
	if err := os.WriteFile(out, bytes.Replace(b, []byte("exit $rbCode"), []byte("exit 0"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckHostScript(out); err == nil {
		t.Error("a signed host script changed after signing passed")
	}
}

func TestInstalledHostScriptIsUsed(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{Language: runbooker.LangPowerShell, Script: []byte("'hi'")}
	in := Interpreters{PowerShell: "/usr/bin/pwsh"}
	p, err := in.planFor(spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.files[hostFile]; !ok || p.host != filepath.Join(dir, hostFile) {
		t.Errorf("without --host-script the host is not written into the job directory: %q", p.host)
	}
	in.HostScript = `C:\Program Files\Runbooker\rbhost.ps1`
	p, err = in.planFor(spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.files[hostFile]; ok {
		t.Error("the host is still written into the job directory")
	}
	if i := indexOf(p.args, "-File"); i < 0 || p.args[i+1] != in.HostScript {
		t.Errorf("the command line does not run the installed host: %q", p.args)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestHostRefusedByExecutionPolicy feeds the collector what Windows
// PowerShell 5.1 writes to stderr when an AllSigned Group Policy refuses
// the unsigned host script.
func TestHostRefusedByExecutionPolicy(t *testing.T) {
	const host = `C:\Windows\TEMP\runbooker-1-2\job-3\rbhost.ps1`
	stderr := []string{
		`File ` + host + ` cannot be loaded. The file ` + host + ` is not digitally signed. You cannot run this script on the`,
		`current system. For more information about running scripts and setting execution policy, see about_Execution_Policies at`,
		`https:/go.microsoft.com/fwlink/?LinkID=135170.`,
		`    + CategoryInfo          : SecurityError: (:) [], ParentContainsErrorRecordException`,
		`    + FullyQualifiedErrorId : UnauthorizedAccess`,
	}
	// Spanish Windows: only the file name and the error id are not translated.
	localized := []string{
		`No se puede cargar el archivo ` + host + `. El archivo no está firmado digitalmente.`,
		`    + FullyQualifiedErrorId : UnauthorizedAccess`,
	}
	for _, lines := range [][]string{stderr, localized} {
		c := newCollector(Spec{Language: runbooker.LangPowerShell}, nil)
		c.emit = func([]runbooker.StreamRecord) {}
		c.host.name = filepath.Base(host)
		var recs []runbooker.StreamRecord
		for _, l := range lines {
			recs = append(recs, runbooker.StreamRecord{Type: runbooker.StreamError, Text: l})
		}
		c.add(chunk{recs: recs})
		got := c.failure("exit status 1")
		if !strings.Contains(got, "execution policy set by Group Policy") || !strings.Contains(got, "--host-script") ||
			!strings.Contains(got, host) {
			t.Errorf("exception %q", got)
		}
	}
	// A runbook's own error that mentions UnauthorizedAccess is its own.
	c := newCollector(Spec{Language: runbooker.LangPowerShell}, nil)
	c.emit = func([]runbooker.StreamRecord) {}
	c.host.name = "rbhost.ps1"
	c.add(chunk{recs: []runbooker.StreamRecord{{Type: runbooker.StreamError, Text: "Access to the path 'C:\\x' is denied. UnauthorizedAccess"}}})
	if got := c.failure("exit status 1"); strings.Contains(got, "Group Policy") {
		t.Errorf("a runbook's error was taken for the policy: %q", got)
	}
}

// The policy checks come before the host's first .NET call, and use none:
// in ConstrainedLanguage mode a method call on a non-core type fails.
func TestHostPolicyChecksComeFirst(t *testing.T) {
	src := string(hostPs1)
	first := strings.Index(src, "[Console]")
	for _, check := range []string{"$ExecutionContext.SessionState.LanguageMode", "-ne 'FullLanguage'", "Get-ExecutionPolicy -Scope $rbScope"} {
		if i := strings.Index(src, check); i < 0 || i > first {
			t.Errorf("%q is missing or after the first .NET call", check)
		}
	}
	stop := src[strings.Index(src, "function Stop-RbPolicy"):]
	stop = stop[:strings.Index(stop, "\n}\n")]
	if strings.Contains(stop, "[System.") || strings.Contains(stop, "[Console]") {
		t.Errorf("Stop-RbPolicy uses .NET: %s", stop)
	}
}
