package access

import (
	"strings"

	"github.com/runbooker/runbooker/catalog"
)

// TargetParameter finds the object a job of a runbook acts on among its
// parameter values. scope is the runbook's scope (user, device, group or
// org) and contextParameter the parameter its metadata declares for the
// viewed object (Runbook.Meta.ContextParameter, possibly ""); names compare
// case-insensitively.
//
// kind is the scope for user, device and group runbooks and "" for org
// runbooks, which act on no one object (then ok is true and there is
// nothing to check). param is the parameter the target was read from or,
// when ok is false, the one the caller should name in its refusal; value is
// the user name or id, device id or name, group id or name as given,
// trimmed, for a directory lookup. ok is false when the value is missing or
// is not a non-empty string: without a target the target rules cannot be
// applied, so the caller must refuse the job.
func TargetParameter(scope string, contextParameter string, params map[string]any) (kind, param, value string, ok bool) {
	candidates := catalog.ContextCandidates(scope)
	if len(candidates) == 0 {
		return "", "", "", true
	}
	if contextParameter != "" {
		candidates = append([]string{contextParameter}, candidates...)
	}
	for _, name := range candidates {
		key, v, found := lookupFold(params, name)
		if !found {
			continue
		}
		s, isString := v.(string)
		s = strings.TrimSpace(s)
		return scope, key, s, isString && s != ""
	}
	return scope, candidates[0], "", false
}

// lookupFold finds a parameter by name, case-insensitively, preferring an
// exact match so a map holding both spellings gives a stable answer.
func lookupFold(params map[string]any, name string) (string, any, bool) {
	if v, ok := params[name]; ok {
		return name, v, true
	}
	var key string
	var val any
	found := false
	for k, v := range params {
		if strings.EqualFold(k, name) && (!found || k < key) {
			key, val, found = k, v, true
		}
	}
	return key, val, found
}
