package bashparse

import "strings"

// Quote makes s one word of a Bash (or any POSIX shell) command line that
// stands for s exactly: single quotes, each single quote inside written as
// '\” (end the quoting, an escaped quote, quote again).
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
