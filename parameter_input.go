package runbooker

import (
	"sort"
	"strings"
)

// MaxParameterNameLength is the longest parameter name a caller may give.
const MaxParameterNameLength = 128

// ValidParameterName reports whether name can name a parameter: an
// identifier as PowerShell spells one (Identifier), in ASCII so that it also
// makes a Bash variable name (RB_PARAM_<Name>) and an argument "--Name" no
// shell misreads, of at most MaxParameterNameLength bytes.
func ValidParameterName(name string) bool {
	return len(name) <= MaxParameterNameLength && Identifier(name)
}

// Identifier reports whether s is an ASCII identifier: letters, digits and
// underscore, not empty and not starting with a digit. Bash names its
// variables so.
func Identifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckParameterInput refuses what no runbook process can take: a NUL byte
// anywhere in a value (no argument or environment variable can hold one),
// and, with names set, a name that is not an identifier
// (ValidParameterName). Names need checking only for a runbook that declares
// no parameters: BindParameters matches the others against the declared
// ones. The error is EINVALID and names the parameter.
func CheckParameterInput(in map[string]any, names bool) error {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same error for the same request
	for _, k := range keys {
		if names && !ValidParameterName(k) {
			return Errorf(EINVALID, "parameter name %q is not valid: a name is letters, digits and underscores, "+
				"not starting with a digit, at most %d characters", clip(k, 40), MaxParameterNameLength)
		}
		if hasNUL(in[k]) {
			return Errorf(EINVALID, "parameter %q: the value contains a NUL byte (\\u0000), which no runbook process can be given", k)
		}
	}
	return nil
}

// hasNUL reports whether a string anywhere in v, object keys included,
// holds a NUL byte.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []string:
		for _, s := range x {
			if strings.IndexByte(s, 0) >= 0 {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// clip shortens s to at most n bytes for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
