package access

import (
	"fmt"
	"strings"
)

// emptyPermissions stands in for a nil *Permissions: the empty document.
var emptyPermissions = &Permissions{schedEnabled: compilePatterns(DefaultSchedulingPatterns)}

// verbs are the words reasons use for each action: "may not run …",
// "no role of yours allows running …".
var verbs = map[Action][2]string{
	See:      {"see", "seeing"},
	Run:      {"run", "running"},
	Schedule: {"schedule", "scheduling"},
}

// Decide says whether caller c may do a with the runbook named runbook, on
// target t (nil for an org runbook or when no target is known, as when
// listing). It applies, in order: the caller's portal rights; the tenant's
// enabled and disabled patterns, which bind everyone; for Schedule, the
// scheduling patterns; then administrators and credentials not bound to a
// person are allowed; everybody else needs a role of the document's Roles
// (when there are any) whose groups they are in and whose patterns match,
// and, with a target, one such role the target's groups do not restrict
// away from them. A nil p is the empty document.
//
// Decide works out the caller's roles on every call; to judge many
// runbooks for one caller, use p.For(c).
func Decide(p *Permissions, c Caller, a Action, runbook string, t *Target) Decision {
	return p.decide(c, nil, a, runbook, t)
}

// Judge decides for one caller many times, e.g. for every runbook of a
// listing: it works out which of the document's roles the caller has once.
// It is not changed by Decide, so it may be used from several goroutines.
type Judge struct {
	p      *Permissions
	c      Caller
	member []bool // index into p.roles: the caller is in one of the role's groups
}

// For returns a Judge for caller c.
func (p *Permissions) For(c Caller) *Judge {
	j := &Judge{p: p, c: c}
	if p != nil && p.hasRoles {
		j.member = p.membership(c.Groups, make([]bool, len(p.roles)))
	}
	return j
}

// Decide is Decide for the Judge's caller.
func (j *Judge) Decide(a Action, runbook string, t *Target) Decision {
	return j.p.decide(j.c, j.member, a, runbook, t)
}

// Visible returns the runbooks of names the Judge's caller may see, in the
// order given.
func (j *Judge) Visible(names []string) []string {
	var out []string
	for _, n := range names {
		if j.Decide(See, n, nil).Allow {
			out = append(out, n)
		}
	}
	return out
}

// Visible returns the runbooks of names caller c may see, in the order
// given.
func (p *Permissions) Visible(c Caller, names []string) []string {
	return p.For(c).Visible(names)
}

// Enabled reports whether the tenant's enabled and disabled patterns let
// anyone use the runbook at all.
func (p *Permissions) Enabled(runbook string) bool {
	if p == nil {
		p = emptyPermissions
	}
	_, ok := p.enabledReason(strings.ToLower(runbook), runbook)
	return ok
}

// Schedulable reports whether the runbook may be scheduled at all: it
// matches one of the scheduling-enabled patterns (by default
// "*_scheduled") and none of the scheduling-disabled ones. It does not
// look at the enabled and disabled patterns; Decide does both.
func (p *Permissions) Schedulable(runbook string) bool {
	if p == nil {
		p = emptyPermissions
	}
	_, ok := p.schedulableReason(strings.ToLower(runbook), runbook)
	return ok
}

func (p *Permissions) decide(c Caller, member []bool, a Action, runbook string, t *Target) Decision {
	verb, ok := verbs[a]
	if !ok {
		return deny("unknown action %q", string(a))
	}
	if missing := missingRights(c.Rights, a); len(missing) == 1 {
		return deny("you lack the right %s", missing[0])
	} else if len(missing) > 1 {
		return deny("you lack the rights %s", strings.Join(missing, " and "))
	}
	if p == nil {
		p = emptyPermissions
	}
	name := strings.ToLower(runbook) // no allocation when, as usual, it already is
	if why, ok := p.enabledReason(name, runbook); !ok {
		return deny("%s", why)
	}
	if a == Schedule {
		if why, ok := p.schedulableReason(name, runbook); !ok {
			return deny("%s", why)
		}
	}
	if has(c.Rights, Admin) {
		return Decision{Allow: true, Reason: "allowed: administrator"}
	}
	if !c.Person {
		return Decision{Allow: true, Reason: "allowed: an API credential not bound to a person is limited only by its rights and the enabled runbooks"}
	}
	if !p.hasRoles {
		return Decision{Allow: true, Reason: "allowed: the tenant's runbook permissions define no roles"}
	}
	if member == nil {
		var buf [64]bool
		if len(p.roles) <= len(buf) {
			member = buf[:len(p.roles)]
		} else {
			member = make([]bool, len(p.roles))
		}
		member = p.membership(c.Groups, member)
	}

	// The first role (in document order) that is usable and not restricted
	// away on this target allows; if every usable role is restricted away,
	// the first of them explains the refusal.
	var blocked *permRole
	var blockedPat *pattern
	var blockedBy *GroupRef
	for i := range p.roles {
		if !member[i] {
			continue
		}
		r := &p.roles[i]
		pat := r.patterns.first(name)
		if pat == nil {
			continue
		}
		g := p.restrictedBy(i, c.Groups, t)
		if g == nil {
			return Decision{Allow: true, Reason: fmt.Sprintf("allowed by role %q (pattern %q)", r.name, pat.text)}
		}
		if blocked == nil {
			blocked, blockedPat, blockedBy = r, pat, g
		}
	}
	if blocked == nil {
		return deny("no role of yours allows %s %q", verb[1], runbook)
	}
	group := blockedBy.Name
	if group == "" {
		group = blockedBy.ID
	}
	return deny("role %q may not %s %s on members of %q", blocked.name, verb[0], blockedPat.text, group)
}

// membership marks in member the roles whose groups include one of the
// caller's groups.
func (p *Permissions) membership(groups []string, member []bool) []bool {
	for _, g := range groups {
		for _, i := range p.byGroup[strings.ToLower(g)] {
			member[i] = true
		}
	}
	return member
}

// restrictedBy returns the target group that keeps role i from the caller,
// or nil when the role stays usable. The entries of all the target's groups
// that restrict the role are pooled: membership in any of their supporter
// lists is enough. That is how RealmJoin's "US supporters manage only US
// users" works: All-Users allows the role to nobody, US-Users to the US
// supporters, and a US user is in both groups.
func (p *Permissions) restrictedBy(i int, callerGroups []string, t *Target) *GroupRef {
	if t == nil || len(p.targets) == 0 {
		return nil
	}
	var first *GroupRef
	for k := range t.Groups {
		tg := p.targets[strings.ToLower(t.Groups[k].ID)]
		if tg == nil {
			continue
		}
		supporters, ok := tg.restrict[i]
		if !ok {
			continue
		}
		if first == nil {
			first = &t.Groups[k]
		}
		for _, g := range callerGroups {
			if _, in := supporters[strings.ToLower(g)]; in {
				return nil
			}
		}
	}
	return first
}

// enabledReason applies EnabledRunbookPatterns and DisabledRunbookPatterns
// to the lower-cased name; the reason is set when the runbook is off.
func (p *Permissions) enabledReason(name, runbook string) (string, bool) {
	if pat := p.disabled.first(name); pat != nil {
		return fmt.Sprintf("runbook %q is disabled in this tenant (%s: %q)", runbook, keyDisabled, pat.text), false
	}
	if p.enabled != nil && p.enabled.first(name) == nil {
		return fmt.Sprintf("runbook %q is not enabled in this tenant (it matches none of the %s)", runbook, keyEnabled), false
	}
	return "", true
}

// schedulableReason applies the scheduling patterns to the lower-cased
// name; the reason is set when the runbook may not be scheduled.
func (p *Permissions) schedulableReason(name, runbook string) (string, bool) {
	if pat := p.schedDisabled.first(name); pat != nil {
		return fmt.Sprintf("runbook %q cannot be scheduled in this tenant (%s: %q)", runbook, keySchedDisabled, pat.text), false
	}
	if p.schedEnabled.first(name) == nil {
		return fmt.Sprintf("runbook %q cannot be scheduled in this tenant (it matches none of the %s: %s)", runbook, keySchedEnabled, quoteList(p.schedEnabled)), false
	}
	return "", true
}

// missingRights names the rights action a needs that rights lack.
func missingRights(rights map[Right]bool, a Action) []string {
	var need []Right
	switch a {
	case See:
		need = []Right{CanSeeRunbooks}
	case Run:
		need = []Right{CanRunRunbooks}
	case Schedule:
		need = []Right{CanRunRunbooks, CanEditRunbookSchedules}
	}
	var missing []string
	for _, r := range need {
		if !has(rights, r) {
			missing = append(missing, string(r))
		}
	}
	return missing
}

// has reports whether rights include r, directly or by implication: Admin
// implies every right, CanRunRunbooks implies CanSeeRunbooks.
func has(rights map[Right]bool, r Right) bool {
	return rights[r] || rights[Admin] || r == CanSeeRunbooks && rights[CanRunRunbooks]
}

func deny(format string, args ...any) Decision {
	return Decision{Reason: fmt.Sprintf(format, args...)}
}

func quoteList(l patternList) string {
	if len(l) == 0 {
		return "none"
	}
	q := make([]string, len(l))
	for i := range l {
		q[i] = fmt.Sprintf("%q", l[i].text)
	}
	return strings.Join(q, ", ")
}
