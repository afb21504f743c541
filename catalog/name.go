// Package catalog turns runbook sources into catalog entries: it validates
// runbook names, brings the metadata of PowerShell, Python and Bash scripts
// into one parameter model, and builds the run form a portal renders, merged
// with RealmJoin-style customization JSON.
//
// The languages are read by psparse, pyparse and bashparse, the
// customization JSON by loosejson. None of them runs an interpreter: each
// is a small Go scanner, so a sync of a thousand runbooks costs
// milliseconds.
package catalog

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	runbooker "github.com/runbooker/runbooker"
)

// DefaultPrefix is the prefix of runbooks synced from the default upstream
// repository.
const DefaultPrefix = "rjgit-"

// Scopes a runbook can be attached to, in the order a portal lists them.
var Scopes = []string{"org", "device", "group", "user"}

// MaxNameLength bounds a runbook name (the longest in RealmJoin's public
// catalog has 72 characters). Names appear in URLs, logs and every job row.
const MaxNameLength = 128

// Name is a parsed runbook name, `[<prefix>]<scope>_<category>_<name>`.
type Name struct {
	Full        string `json:"name"`                // the whole name, as given
	Prefix      string `json:"prefix,omitempty"`    // e.g. "rjgit-"; empty for local runbooks
	Scope       string `json:"scope"`               // org, device, group or user
	Category    string `json:"category"`            // free text, e.g. "security"
	Short       string `json:"short"`               // the name part without suffixes
	DisplayName string `json:"displayName"`         // Short with words title-cased
	Scheduled   bool   `json:"scheduled,omitempty"` // ends in _scheduled
	Hybrid      bool   `json:"hybrid,omitempty"`    // ends in _hybrid
}

// String returns the full name.
func (n Name) String() string { return n.Full }

// ParseName validates a runbook name and splits it into its parts. The
// error names the part that is wrong.
func ParseName(name string) (Name, error) {
	bad := func(format string, args ...any) (Name, error) {
		return Name{}, runbooker.Errorf(runbooker.EINVALID, "invalid runbook name %q: %s", name, fmt.Sprintf(format, args...))
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > MaxNameLength {
		// Quoting a name of 100,000 characters back helps nobody.
		return Name{}, runbooker.Errorf(runbooker.EINVALID, "invalid runbook name %q…: %d characters is longer than the limit of %d",
			truncate(name, 40), utf8.RuneCountInString(name), MaxNameLength)
	}
	if strings.ToLower(name) != name {
		return bad("must be lowercase")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return bad("character %q not allowed (use a-z, 0-9, '-' and '_')", r)
		}
	}
	parts := strings.Split(name, "_")
	if len(parts) < 3 {
		return bad("want <scope>_<category>_<name>, found %d part(s) separated by '_'", len(parts))
	}
	n := Name{Full: name}
	head := parts[0]
	for _, s := range Scopes {
		if strings.HasSuffix(head, s) {
			n.Scope, n.Prefix = s, head[:len(head)-len(s)]
			break
		}
	}
	if n.Scope == "" {
		return bad("scope %q is not one of org, device, group, user", head)
	}
	if n.Prefix != "" && !validPrefix(n.Prefix) {
		return bad("prefix %q must be words joined by '-' and end in '-' (like %q)", n.Prefix, DefaultPrefix)
	}
	n.Category = parts[1]
	if !validWords(n.Category) {
		return bad("category %q must be words of a-z and 0-9 joined by '-'", n.Category)
	}
	n.Short = parts[2]
	if !validWords(n.Short) {
		return bad("name part %q must be words of a-z and 0-9 joined by '-'", n.Short)
	}
	for _, suffix := range parts[3:] {
		switch {
		case suffix == "scheduled" && !n.Scheduled:
			n.Scheduled = true
		case suffix == "hybrid" && !n.Hybrid:
			n.Hybrid = true
		default:
			return bad("unexpected suffix %q (only _scheduled and _hybrid, once each)", "_"+suffix)
		}
	}
	n.DisplayName = displayName(n.Short)
	return n, nil
}

// PathToName maps a repository path `<scope>/<category>/<name>.<ext>` to the
// runbook name `<prefix><scope>_<category>_<name>`, lower-cased, and checks
// that the result is a valid name and the extension a known language.
// Backslashes are accepted as separators.
func PathToName(prefix, relpath string) (Name, runbooker.Language, error) {
	p := strings.Trim(strings.ReplaceAll(relpath, `\`, "/"), "/")
	segs := strings.Split(p, "/")
	if len(segs) != 3 {
		return Name{}, "", runbooker.Errorf(runbooker.EINVALID, "runbook path %q: want <scope>/<category>/<name>.<ext>", relpath)
	}
	ext := path.Ext(segs[2])
	lang, ok := runbooker.LanguageFromExt(ext)
	if !ok || ext == "" {
		return Name{}, "", runbooker.Errorf(runbooker.EINVALID, "runbook path %q: extension %q is not .ps1, .py or .sh", relpath, ext)
	}
	if prefix != "" && !validPrefix(prefix) {
		return Name{}, "", runbooker.Errorf(runbooker.EINVALID, "sync prefix %q must be words joined by '-' and end in '-'", prefix)
	}
	full := strings.ToLower(prefix + segs[0] + "_" + segs[1] + "_" + strings.TrimSuffix(segs[2], ext))
	n, err := ParseName(full)
	if err != nil {
		return Name{}, "", err
	}
	return n, lang, nil
}

// contextCandidates are the parameter names that receive the object a
// runbook is started on, per scope, in order of preference.
var contextCandidates = map[string][]string{
	"user":   {"UserName", "UserId"},
	"device": {"DeviceId", "DeviceName"},
	"group":  {"GroupId", "GroupName"},
}

// ContextCandidates returns the parameter names that may receive the
// object a runbook of scope is started on, in order of preference; none
// for org runbooks. The slice is the caller's to keep.
func ContextCandidates(scope string) []string {
	return slices.Clone(contextCandidates[scope])
}

// ContextParameter returns the declared spelling of the parameter that
// receives the viewed object for scope, or "" when the runbook declares none
// (org runbooks never have one).
func ContextParameter(scope string, params []runbooker.Parameter) string {
	for _, want := range contextCandidates[scope] {
		if p, ok := runbooker.FindParameter(params, want); ok {
			return p.Name
		}
	}
	return ""
}

// truncate returns at most n runes of s.
func truncate(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

func displayName(short string) string {
	words := strings.Split(short, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// validWords reports whether s is `[a-z0-9]+(-[a-z0-9]+)*`.
func validWords(s string) bool {
	if s == "" {
		return false
	}
	for _, w := range strings.Split(s, "-") {
		if w == "" {
			return false
		}
		for _, r := range w {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func validPrefix(p string) bool {
	return strings.HasSuffix(p, "-") && validWords(strings.TrimSuffix(p, "-"))
}
