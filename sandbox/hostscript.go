package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// HostScript returns the PowerShell host script of this version, for
// installing it where Windows' script rules allow it (see
// Interpreters.HostScript).
func HostScript() []byte { return append([]byte(nil), hostPs1...) }

// CheckHostScript makes sure the file at path is this version's host
// script, as written by HostScript, optionally signed: an Authenticode
// signature block (what Set-AuthenticodeSignature appends), a byte order
// mark and CRLF line ends are allowed, any other change is not.
func CheckHostScript(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("host script: %w", err)
	}
	if !bytes.Equal(normalizeScript(b), normalizeScript(hostPs1)) {
		return fmt.Errorf("host script %s is not the one of this version of runbooker: write it anew "+
			"(runbooker worker host-script %s) and sign it again", path, path)
	}
	return nil
}

// sigBegin starts the signature block of a signed PowerShell script.
const sigBegin = "# SIG # Begin signature block"

// normalizeScript drops what signing and editors change without changing
// the script: the signature block, a UTF-8 byte order mark, CR before LF
// and trailing blank lines.
func normalizeScript(b []byte) []byte {
	b = bytes.TrimPrefix(b, utf8BOM)
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	if i := bytes.Index(b, []byte(sigBegin)); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimRight(b, "\n")
}

// hostRefusal recognises PowerShell's refusal to run the host script at
// all, which no code of the host can report: an execution policy set by
// Group Policy (AllSigned, Restricted) overrides -ExecutionPolicy Bypass.
// PowerShell writes the file's name and, in a later line, the error id
// UnauthorizedAccess (neither is translated), or an English message.
type hostRefusal struct {
	name    string // the host script's file name; "" when the job runs none
	message string // PowerShell's line naming the host script
	denied  bool
}

func (h *hostRefusal) see(line string) {
	if h.name == "" {
		return
	}
	if h.message == "" && strings.Contains(line, h.name) {
		h.message = strings.TrimSpace(line)
	}
	if h.message != "" && (strings.Contains(line, "UnauthorizedAccess") ||
		strings.Contains(line, "is not digitally signed") || strings.Contains(line, "running scripts is disabled")) {
		h.denied = true
	}
}

func (h *hostRefusal) refused() bool { return h.denied }

func (h *hostRefusal) exception() string {
	return fmt.Sprintf("PowerShell refused to run the Runbooker host script (%s): an execution policy set by Group Policy "+
		"(AllSigned or Restricted) overrides the worker's -ExecutionPolicy Bypass. Install the host script signed "+
		"(runbooker worker host-script PATH, then Set-AuthenticodeSignature) and start the worker with --host-script PATH, "+
		"or set the policy to RemoteSigned for this computer", oneLine(h.message))
}
