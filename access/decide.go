package access

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// emptyPermissions stands in for a nil *Permissions: the empty document.
var emptyPermissions = &Permissions{schedEnabled: compilePatterns(defaultSchedulingPatterns)}

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
	p  *Permissions
	c  Caller
	in *standing
}

// standing is what the caller's groups mean in a document.
type standing struct {
	member   []bool // by role: the caller is in one of the role's groups
	admitted []bool // by restriction entry: the caller is in one of its supporter groups
}

// standing works out the caller's standing, in the buffers of s.
func (p *Permissions) standing(groups []string, s *standing) *standing {
	for _, g := range groups {
		u := p.byGroup[strings.ToLower(g)]
		if u == nil {
			continue
		}
		for _, i := range u.roles {
			s.member[i] = true
		}
		for _, k := range u.entries {
			s.admitted[k] = true
		}
	}
	return s
}

// For returns a Judge for caller c.
func (p *Permissions) For(c Caller) *Judge {
	j := &Judge{p: p, c: c}
	if p != nil && p.hasRoles {
		j.in = p.standing(c.Groups, &standing{member: make([]bool, len(p.roles)), admitted: make([]bool, p.nEntries)})
	}
	return j
}

// Decide is Decide for the Judge's caller.
func (j *Judge) Decide(a Action, runbook string, t *Target) Decision {
	return j.p.decide(j.c, j.in, a, runbook, t)
}

// Visible returns the runbooks of names the Judge's caller may see, in the
// order given.
func (j *Judge) Visible(names []string) []string {
	p := j.p
	if p == nil {
		p = emptyPermissions
	}
	var out []string
	for _, n := range names {
		if p.judge(j.c, j.in, See, n, nil).allow() {
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
	name := strings.ToLower(runbook)
	return p.disabled.first(name) == nil && (p.enabled == nil || p.enabled.first(name) != nil)
}

// Schedulable reports whether the runbook may be scheduled at all: it
// matches one of the scheduling-enabled patterns (by default
// "*_scheduled") and none of the scheduling-disabled ones. It does not
// look at the enabled and disabled patterns; Decide does both.
func (p *Permissions) Schedulable(runbook string) bool {
	if p == nil {
		p = emptyPermissions
	}
	name := strings.ToLower(runbook)
	return p.schedDisabled.first(name) == nil && p.schedEnabled.first(name) != nil
}

// outcome is what judge found, before any text is made: listing runbooks
// only needs Allow, and formatting a reason for each would cost more than
// the decision itself.
type outcome uint8

const (
	unknownAction outcome = iota
	lacksRights
	disabled      // by a DisabledRunbookPatterns entry (pat)
	notEnabled    // by no EnabledRunbookPatterns entry
	schedDisabled // by a SchedulingDisabledRunbookPatterns entry (pat)
	notSchedulable
	noRole
	restrictedAway // role (with pat) is kept from the caller on this target
	allowAdmin
	allowCredential
	allowNoRoles
	allowRole // by role, through pat
)

// verdict is an outcome with what its reason names.
type verdict struct {
	outcome outcome
	role    int
	pat     *pattern
}

func (v verdict) allow() bool { return v.outcome >= allowAdmin }

func (p *Permissions) decide(c Caller, in *standing, a Action, runbook string, t *Target) Decision {
	if p == nil {
		p = emptyPermissions
	}
	v := p.judge(c, in, a, runbook, t)
	return p.explain(v, c, a, runbook, t)
}

// judge applies the rules in Decide's order; it neither allocates nor
// formats.
func (p *Permissions) judge(c Caller, in *standing, a Action, runbook string, t *Target) verdict {
	switch a {
	case See:
		if !has(c.Rights, CanSeeRunbooks) {
			return verdict{outcome: lacksRights}
		}
	case Run:
		if !has(c.Rights, CanRunRunbooks) {
			return verdict{outcome: lacksRights}
		}
	case Schedule:
		if !has(c.Rights, CanRunRunbooks) || !has(c.Rights, CanEditRunbookSchedules) {
			return verdict{outcome: lacksRights}
		}
	default:
		return verdict{outcome: unknownAction}
	}
	name := strings.ToLower(runbook) // no allocation when, as usual, it already is
	if pat := p.disabled.first(name); pat != nil {
		return verdict{outcome: disabled, pat: pat}
	}
	if p.enabled != nil && p.enabled.first(name) == nil {
		return verdict{outcome: notEnabled}
	}
	if a == Schedule {
		if pat := p.schedDisabled.first(name); pat != nil {
			return verdict{outcome: schedDisabled, pat: pat}
		}
		if p.schedEnabled.first(name) == nil {
			return verdict{outcome: notSchedulable}
		}
	}
	if has(c.Rights, Admin) {
		return verdict{outcome: allowAdmin}
	}
	if !c.Person {
		return verdict{outcome: allowCredential}
	}
	if !p.hasRoles {
		return verdict{outcome: allowNoRoles}
	}
	if in == nil {
		// Small documents, the usual kind, need no allocation here.
		var roles, entries [64]bool
		s := standing{member: roles[:0], admitted: entries[:0]}
		if len(p.roles) <= len(roles) && p.nEntries <= len(entries) {
			s.member, s.admitted = roles[:len(p.roles)], entries[:p.nEntries]
		} else {
			s.member, s.admitted = make([]bool, len(p.roles)), make([]bool, p.nEntries)
		}
		in = p.standing(c.Groups, &s)
	}
	// The first role (in document order) that is usable and not restricted
	// away on this target allows; if every usable role is restricted away,
	// the first of them explains the refusal.
	v := verdict{outcome: noRole}
	for i := range p.roles {
		if !in.member[i] {
			continue
		}
		pat := p.roles[i].patterns.first(name)
		if pat == nil {
			continue
		}
		if !p.restricted(i, in, t) {
			return verdict{outcome: allowRole, role: i, pat: pat}
		}
		if v.outcome == noRole {
			v = verdict{outcome: restrictedAway, role: i, pat: pat}
		}
	}
	return v
}

// explain turns a verdict into a Decision with its reason.
func (p *Permissions) explain(v verdict, c Caller, a Action, runbook string, t *Target) Decision {
	d := Decision{Allow: v.allow()}
	verb := verbs[a]
	switch v.outcome {
	case unknownAction:
		d.Reason = fmt.Sprintf("unknown action %q", string(a))
	case lacksRights:
		if missing := missingRights(c.Rights, a); len(missing) == 1 {
			d.Reason = "you lack the right " + missing[0]
		} else {
			d.Reason = "you lack the rights " + strings.Join(missing, " and ")
		}
	case disabled:
		d.Reason = fmt.Sprintf("runbook %q is disabled in this tenant (%s: %q)", runbook, keyDisabled, v.pat.text)
	case notEnabled:
		d.Reason = fmt.Sprintf("runbook %q is not enabled in this tenant (it matches none of the %s)", runbook, keyEnabled)
	case schedDisabled:
		d.Reason = fmt.Sprintf("runbook %q cannot be scheduled in this tenant (%s: %q)", runbook, keySchedDisabled, v.pat.text)
	case notSchedulable:
		d.Reason = fmt.Sprintf("runbook %q cannot be scheduled in this tenant (it matches none of the %s: %s)", runbook, keySchedEnabled, quoteList(p.schedEnabled))
	case noRole:
		d.Reason = fmt.Sprintf("no role of yours allows %s %q", verb[1], runbook)
	case restrictedAway:
		d.Reason = fmt.Sprintf("role %q may not %s %s on members of %s", p.roles[v.role].name, verb[0], v.pat.text, p.restrictingGroups(v.role, t))
	case allowAdmin:
		d.Reason = "allowed: administrator"
	case allowCredential:
		d.Reason = "allowed: an API credential not bound to a person is limited only by its rights and the enabled runbooks"
	case allowNoRoles:
		d.Reason = "allowed: the tenant's runbook permissions define no roles"
	case allowRole:
		d.Reason = fmt.Sprintf("allowed by role %q (pattern %q)", p.roles[v.role].name, v.pat.text)
	}
	return d
}

// restricted reports whether the target's groups keep role i from the
// caller. The entries of all the target's groups that restrict the role are
// pooled: membership in any of their supporter lists is enough. That is how
// RealmJoin's "US supporters manage only US users" works: All-Users allows
// the role to nobody, US-Users to the US supporters, and a US user is in
// both groups.
func (p *Permissions) restricted(i int, in *standing, t *Target) bool {
	if t == nil || len(p.targets) == 0 {
		return false
	}
	restricted := false
	for k := range t.Groups {
		tg := p.targets[strings.ToLower(t.Groups[k].ID)]
		if tg == nil {
			continue
		}
		k, ok := tg.restrict[i]
		if !ok {
			continue
		}
		if in.admitted[k] {
			return false
		}
		restricted = true
	}
	return restricted
}

// restrictingGroups names, for a refusal, the target's groups that
// restrict role i: "VIP users", or "All users" and "US users". A group
// without a display name is named by its id.
func (p *Permissions) restrictingGroups(i int, t *Target) string {
	var names []string
	for _, g := range t.Groups {
		tg := p.targets[strings.ToLower(g.ID)]
		if tg == nil {
			continue
		}
		if _, ok := tg.restrict[i]; !ok {
			continue
		}
		n := g.Name
		if n == "" {
			n = g.ID
		}
		if q := strconv.Quote(n); !slices.Contains(names, q) {
			names = append(names, q)
		}
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
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
