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
//
// params should be the values after binding (runbooker.BindParameters), so
// a default value the runbook would act on is judged too.
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

// TargetRef is one parameter that names the object of a job.
type TargetRef struct {
	Kind  string // user, device or group
	Param string // the parameter, as the caller spelled it
	Value string // user name or id, device id or name, group id or name
}

// TargetParameters returns every parameter of params that may name the
// object of a job of a runbook of scope: the declared context parameter and
// the scope's candidates (UserName and UserId, …), each with a non-empty
// string value, the declared one first. TargetParameter judges one of them;
// a runbook that reads UserId when given could otherwise be started with a
// harmless UserName and a protected UserId, so a server that cannot tell
// which one the script uses should check every one of these.
func TargetParameters(scope string, contextParameter string, params map[string]any) []TargetRef {
	candidates := catalog.ContextCandidates(scope)
	if len(candidates) == 0 {
		return nil
	}
	if contextParameter != "" {
		candidates = append([]string{contextParameter}, candidates...)
	}
	var out []TargetRef
	for _, name := range candidates {
		key, v, found := lookupFold(params, name)
		if !found {
			continue
		}
		s, _ := v.(string)
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		dup := false
		for _, r := range out {
			dup = dup || strings.EqualFold(r.Param, key)
		}
		if !dup {
			out = append(out, TargetRef{Kind: scope, Param: key, Value: s})
		}
	}
	return out
}
