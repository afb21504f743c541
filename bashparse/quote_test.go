package bashparse

import (
	"os/exec"
	"testing"
)

// Bash itself reads each quoted word back as the string it stands for,
// whatever quotes, spaces, expansions or newlines it holds.
func TestQuoteIsReadBackByBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on PATH")
	}
	for _, s := range []string{"", "plain", "it's", "''", `a "b" $HOME $(id) ` + "`id`", "two\nlines", `back\slash`, "*?[]{}~!#;&|<>"} {
		out, err := exec.Command(bash, "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("bash read %s back as %q (%v), want %q", Quote(s), out, err, s)
		}
	}
}
