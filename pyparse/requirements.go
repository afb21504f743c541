package pyparse

import (
	"fmt"
	"regexp"
	"strings"

	runbooker "github.com/runbooker/runbooker"
)

// requirementsLine is a `# requirements: …` comment line.
var requirementsLine = regexp.MustCompile(`(?im)^[ \t]*#[ \t]*requirements[ \t]*:(.*)$`)

// requirement is one item: a distribution name, optional extras, and an
// optional `==` pin.
var requirement = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._\-]*)(\[[^\]]*\])?\s*(?:(==|>=|<=|~=|!=|>|<)\s*([A-Za-z0-9._!+\-*]+))?$`)

// Requirements reads a Python runbook's `# requirements:` comment lines:
//
//	# requirements: requests==2.31.0, six
//
// Items are separated by commas; each is a distribution name with an
// optional exact `==` version. Several lines add up. Without a version the
// newest uploaded one is used. Other version operators and unreadable
// items are reported as problems (messages with 1-based line numbers) and
// the item is taken without its version, or left out.
func Requirements(src []byte) (mods []runbooker.Module, problems []string) {
	seen := map[string]int{}
	for _, loc := range requirementsLine.FindAllSubmatchIndex(src, -1) {
		line := 1 + strings.Count(string(src[:loc[0]]), "\n")
		for _, item := range strings.Split(string(src[loc[2]:loc[3]]), ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			m := requirement.FindStringSubmatch(item)
			if m == nil {
				problems = append(problems, fmt.Sprintf("line %d: requirement %q is not a name or name==version", line, item))
				continue
			}
			mod := runbooker.Module{Name: m[1]}
			switch m[3] {
			case "":
			case "==":
				mod.Version = m[4]
			default:
				problems = append(problems, fmt.Sprintf("line %d: requirement %q: only == pins are supported; the newest uploaded version is used", line, item))
			}
			key := runbooker.ModuleNameKey(runbooker.ModulePython, mod.Name)
			if i, ok := seen[key]; ok {
				if mods[i].Version == "" {
					mods[i].Version = mod.Version
				}
				continue
			}
			seen[key] = len(mods)
			mods = append(mods, mod)
		}
	}
	return mods, problems
}
