package bashparse

import "strings"

// Quote makes s one word of a Bash (or any POSIX shell) command line that
// stands for s exactly: s in single quotes, where each single quote of s
// ends the quoting, follows as a backslash-escaped quote, and starts it
// again.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
