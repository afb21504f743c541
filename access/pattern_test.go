package access

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"*", "", true},
		{"*", "rjgit-user_security_reset-mfa", true},
		{"rjgit-user_security_*", "rjgit-user_security_reset-mfa", true},
		{"rjgit-user_security_*", "rjgit-user_security_", true},
		{"rjgit-user_security_*", "rjgit-user_general_rename", false},
		{"RJGIT-User_Security_*", "rjgit-user_security_reset-mfa", true}, // case-insensitive
		{"rjgit-user_security_*", "RJGit-User_Security_Reset-MFA", true},
		{"*_scheduled", "rjgit-org_general_report_scheduled", true},
		{"*_scheduled", "rjgit-org_general_report", false},
		{"*_scheduled", "_scheduled", true},
		{"*-device-*", "rjgit-device-x", true},
		{"*-device-*", "rjgit-device_x", false},
		{"rjgit-*_security_*", "rjgit-org_security_list-inactive-users", true},
		{"rjgit-*_security_*", "rjgit-device_security_enable-or-disable-device", true},
		{"rjgit-*_security_*", "user_security_x", false},
		{"exact", "exact", true},
		{"exact", "Exact", true},
		{"exact", "exactly", false},
		{"a*a", "a", false}, // prefix and suffix may not overlap
		{"a*a", "aa", true},
		{"ab*ba", "aba", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*bc*bcd", "abcbcbcd", true}, // the leftmost "bc" still leaves room
		{"**", "x", true},
		{"a**b", "ab", true},
	}
	for _, tt := range tests {
		if got := MatchPattern(tt.pat, tt.name); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
}

// referenceMatch is the obvious, slow definition: the pattern as a
// regular expression, both sides lower-cased the way pattern does it.
func referenceMatch(pat, name string) bool {
	parts := strings.Split(strings.ToLower(pat), "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re := regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`)
	return re.MatchString(strings.ToLower(name))
}

func FuzzMatchPattern(f *testing.F) {
	f.Add("rjgit-user_*", "rjgit-user_security_reset")
	f.Add("*_scheduled", "x_scheduled")
	f.Add("a*bc*bcd", "abcbcbcd")
	f.Add("*-device-*", "RJGIT-DEVICE-X")
	f.Add("a*a", "a")
	f.Add("ÄÖ*ß", "äöxß")
	f.Fuzz(func(t *testing.T, pat, name string) {
		// The regexp package reads invalid UTF-8 as U+FFFD; names and
		// patterns come from JSON and valid names, so only compare valid text.
		if !utf8.ValidString(pat) || !utf8.ValidString(name) || len(pat) > 200 {
			return
		}
		if got, want := MatchPattern(pat, name), referenceMatch(pat, name); got != want {
			t.Fatalf("MatchPattern(%q, %q) = %v, reference says %v", pat, name, got, want)
		}
	})
}
