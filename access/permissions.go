package access

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// defaultSchedulingPatterns is what SchedulingEnabledRunbookPatterns means
// when a tenant's document leaves it out: only runbooks named for
// scheduling may be scheduled.
var defaultSchedulingPatterns = []string{"*_scheduled"}

// DefaultSchedulingPatterns returns the scheduling-enabled patterns of a
// document that names none.
func DefaultSchedulingPatterns() []string { return slices.Clone(defaultSchedulingPatterns) }

// Permissions is a tenant's runbook permissions document (RealmJoin's
// format), checked and with every pattern compiled, ready for Decide. It
// is never changed after ParsePermissions, so one value may be shared by
// every request of the tenant. A nil *Permissions means the empty
// document: everything enabled, no roles.
type Permissions struct {
	enabled       patternList // nil: the key is absent and everything is enabled
	disabled      patternList
	schedEnabled  patternList // the default when absent
	schedDisabled patternList

	hasRoles bool // Roles is present, even if empty: people then need a role
	roles    []permRole

	targets  map[string]*targetGroup // lower-cased group id → its restrictions
	nEntries int                     // restrictions over all target groups

	// byGroup answers, for each group the document names as a role's
	// group or as a supporter group, what being in it means; Decide reads
	// it once per caller group.
	byGroup map[string]*groupUse

	warnings []runbooker.ParseError
}

// permRole is one entry of Roles.
type permRole struct {
	name     string
	groups   []string
	patterns patternList
}

// targetGroup is one entry of TargetEntityGroups. Each role it restricts
// is one restriction entry, numbered across the document; members of the
// entry's supporter groups may still use the role on the group's members.
// An entry without supporter groups leaves the role to nobody.
type targetGroup struct {
	id       string
	restrict map[int]int // index into roles → restriction entry
}

// groupUse is what membership in one group gives a caller.
type groupUse struct {
	roles   []int // indexes into roles whose Groups list the group
	entries []int // restriction entries that list it as a supporter group
}

// use returns the groupUse of a lower-cased group id, making it if need be.
func (p *Permissions) use(id string) *groupUse {
	if p.byGroup == nil {
		p.byGroup = map[string]*groupUse{}
	}
	u := p.byGroup[id]
	if u == nil {
		u = &groupUse{}
		p.byGroup[id] = u
	}
	return u
}

// Known top-level keys, in the spelling reasons and warnings use.
const (
	keyEnabled       = "EnabledRunbookPatterns"
	keyDisabled      = "DisabledRunbookPatterns"
	keySchedEnabled  = "SchedulingEnabledRunbookPatterns"
	keySchedDisabled = "SchedulingDisabledRunbookPatterns"
	keyRoles         = "Roles"
	keyTargets       = "TargetEntityGroups"
)

var topKeys = []string{keyEnabled, keyDisabled, keySchedEnabled, keySchedDisabled, keyRoles, keyTargets}

// ParsePermissions reads a tenant's runbook permissions JSON. Comments and
// trailing commas are allowed, keys compare case-insensitively, and an
// empty document (or `{}`, or `null`) enables everything and defines no
// roles. A value of the wrong type, an empty pattern or group id, or a
// role or target group named twice is an error (*runbooker.ParseError
// with the position and the key); an unknown key, or a restriction that
// can have no effect, is a warning (see Warnings).
func ParsePermissions(src []byte) (*Permissions, error) {
	p := &Permissions{schedEnabled: compilePatterns(defaultSchedulingPatterns)}
	if len(bytes.TrimSpace(src)) == 0 {
		return p, nil
	}
	root, err := loosejson.Parse(src)
	if err != nil {
		return nil, sourced(err, "permissions")
	}
	d := &doc{src: src, source: "permissions"}
	if root.Kind == loosejson.Null {
		return p, nil
	}
	if root.Kind != loosejson.Object {
		return nil, d.errAt(root, "the permissions document must be a JSON object, found %s", kindName(root))
	}
	// The last of duplicate keys counts, as with loosejson's Get.
	top := map[string]loosejson.Member{}
	for _, m := range root.Members {
		key, ok := canonical(m.Key, topKeys)
		if !ok {
			d.warn(m.Off, "unknown key %q ignored (known keys: %s)", m.Key, strings.Join(topKeys, ", "))
			continue
		}
		if _, dup := top[key]; dup {
			d.warn(m.Off, "%s is given twice; the last one counts", key)
		}
		top[key] = m
	}
	lists := []struct {
		key string
		dst *patternList
	}{{keyEnabled, &p.enabled}, {keyDisabled, &p.disabled}, {keySchedEnabled, &p.schedEnabled}, {keySchedDisabled, &p.schedDisabled}}
	for _, l := range lists {
		m, ok := top[l.key]
		if !ok || m.Val.Kind == loosejson.Null {
			continue
		}
		texts, err := d.patterns(m.Val, l.key)
		if err != nil {
			return nil, err
		}
		if len(texts) == 0 && (l.key == keyEnabled || l.key == keySchedEnabled) {
			d.warn(m.Off, "%s is empty, so no runbook matches it; leave the key out for the default", l.key)
		}
		*l.dst = compilePatterns(texts)
	}
	if m, ok := top[keyRoles]; ok && m.Val.Kind != loosejson.Null {
		if err := p.parseRoles(d, m.Val); err != nil {
			return nil, err
		}
	}
	if m, ok := top[keyTargets]; ok && m.Val.Kind != loosejson.Null {
		if !p.hasRoles {
			d.warn(m.Off, "%s has no effect without Roles: restrictions limit roles, and there are none", keyTargets)
		}
		if err := p.parseTargets(d, m.Val); err != nil {
			return nil, err
		}
	}
	p.warnings = d.warnings
	return p, nil
}

// Warnings returns what ParsePermissions found odd but could live with.
func (p *Permissions) Warnings() []runbooker.ParseError {
	if p == nil {
		return nil
	}
	return p.warnings
}

// HasRoles reports whether the document defines Roles, which makes a
// person without a matching role see no runbook at all.
func (p *Permissions) HasRoles() bool { return p != nil && p.hasRoles }

// RoleNames returns the names of the document's Roles in document order.
func (p *Permissions) RoleNames() []string {
	if p == nil {
		return nil
	}
	names := make([]string, len(p.roles))
	for i, r := range p.roles {
		names[i] = r.name
	}
	return names
}

func (p *Permissions) parseRoles(d *doc, n *loosejson.Node) error {
	if n.Kind != loosejson.Object {
		return d.errAt(n, "%s must be an object of role names, found %s", keyRoles, kindName(n))
	}
	p.hasRoles = true
	if len(n.Members) == 0 {
		d.warn(n.Off, "%s is empty: only administrators and credentials not bound to a person can use runbooks", keyRoles)
	}
	seen := map[string]bool{}
	for _, m := range n.Members {
		path := keyRoles + "." + m.Key
		if strings.TrimSpace(m.Key) == "" {
			return d.errAtOff(m.Off, "%s: a role needs a name", keyRoles)
		}
		if seen[strings.ToLower(m.Key)] {
			return d.errAtOff(m.Off, "%s: role %q is defined twice", keyRoles, m.Key)
		}
		seen[strings.ToLower(m.Key)] = true
		if m.Val.Kind != loosejson.Object {
			return d.errAt(m.Val, "%s must be an object with Groups and AllowedRunbookPatterns, found %s", path, kindName(m.Val))
		}
		r := permRole{name: m.Key}
		var allowed []string
		for _, f := range m.Val.Members {
			var err error
			switch {
			case strings.EqualFold(f.Key, "Groups"):
				r.groups, err = d.groupIDs(f.Val, path+".Groups")
			case strings.EqualFold(f.Key, "AllowedRunbookPatterns"):
				allowed, err = d.patterns(f.Val, path+".AllowedRunbookPatterns")
			default:
				d.warn(f.Off, "%s: unknown key %q ignored (known keys: Groups, AllowedRunbookPatterns)", path, f.Key)
			}
			if err != nil {
				return err
			}
		}
		if len(r.groups) == 0 {
			d.warn(m.Off, "%s has no Groups, so nobody has it", path)
		}
		if len(allowed) == 0 {
			d.warn(m.Off, "%s has no AllowedRunbookPatterns, so it allows no runbook", path)
		}
		r.patterns = compilePatterns(allowed)
		i := len(p.roles)
		p.roles = append(p.roles, r)
		for _, g := range r.groups {
			u := p.use(strings.ToLower(g))
			u.roles = appendIndex(u.roles, i)
		}
	}
	return nil
}

func (p *Permissions) parseTargets(d *doc, n *loosejson.Node) error {
	if n.Kind != loosejson.Object {
		return d.errAt(n, "%s must be an object of group ids, found %s", keyTargets, kindName(n))
	}
	p.targets = map[string]*targetGroup{}
	for _, m := range n.Members {
		path := keyTargets + "." + m.Key
		if strings.TrimSpace(m.Key) == "" {
			return d.errAtOff(m.Off, "%s: empty group id", keyTargets)
		}
		id := strings.ToLower(m.Key)
		if _, dup := p.targets[id]; dup {
			return d.errAtOff(m.Off, "%s: group %q is listed twice", keyTargets, m.Key)
		}
		if m.Val.Kind != loosejson.Object {
			return d.errAt(m.Val, "%s must be an object with RestrictRoles, found %s", path, kindName(m.Val))
		}
		tg := &targetGroup{id: m.Key, restrict: map[int]int{}}
		p.targets[id] = tg
		for _, f := range m.Val.Members {
			if !strings.EqualFold(f.Key, "RestrictRoles") {
				d.warn(f.Off, "%s: unknown key %q ignored (known keys: RestrictRoles)", path, f.Key)
				continue
			}
			if err := p.parseRestrictions(d, tg, f.Val, path+".RestrictRoles"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Permissions) parseRestrictions(d *doc, tg *targetGroup, n *loosejson.Node, path string) error {
	if n.Kind == loosejson.Null {
		return nil
	}
	if n.Kind != loosejson.Object {
		return d.errAt(n, "%s must be an object of role names, found %s", path, kindName(n))
	}
	named := map[string]bool{}
	for _, m := range n.Members {
		rpath := path + "." + m.Key
		if named[strings.ToLower(m.Key)] {
			return d.errAtOff(m.Off, "%s: role %q is restricted twice", path, m.Key)
		}
		named[strings.ToLower(m.Key)] = true
		ids, err := d.groupIDs(m.Val, rpath)
		if err != nil {
			return err
		}
		i := p.roleIndex(m.Key)
		if i < 0 {
			if p.hasRoles {
				d.warn(m.Off, "%s: Roles defines no role %q, so this restriction has no effect", path, m.Key)
			}
			continue
		}
		k := p.nEntries
		p.nEntries++
		tg.restrict[i] = k
		for _, g := range ids {
			u := p.use(strings.ToLower(g))
			u.entries = appendIndex(u.entries, k)
		}
	}
	return nil
}

// roleIndex finds a role of Roles by name, case-insensitively; -1 if none.
func (p *Permissions) roleIndex(name string) int {
	for i, r := range p.roles {
		if strings.EqualFold(r.name, name) {
			return i
		}
	}
	return -1
}

// doc carries the source of a document being parsed, for positions.
type doc struct {
	src      []byte
	source   string // "permissions" or "roles"
	warnings []runbooker.ParseError
}

func (d *doc) errAt(n *loosejson.Node, format string, args ...any) error {
	return d.errAtOff(n.Off, format, args...)
}

func (d *doc) errAtOff(off int, format string, args ...any) error {
	line, col := loosejson.Position(d.src, off)
	return &runbooker.ParseError{Source: d.source, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

func (d *doc) warn(off int, format string, args ...any) {
	line, col := loosejson.Position(d.src, off)
	d.warnings = append(d.warnings, runbooker.ParseError{Source: d.source, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

// stringList reads a list of strings; a lone string counts as a list of one,
// since hand-written documents often leave the brackets out.
func (d *doc) stringList(n *loosejson.Node, path, what string) ([]string, error) {
	if n.Kind == loosejson.String {
		return []string{n.Text}, nil
	}
	if n.Kind != loosejson.Array {
		return nil, d.errAt(n, "%s must be a list of %s, found %s", path, what, kindName(n))
	}
	out := make([]string, 0, len(n.Elems))
	for i, e := range n.Elems {
		if e.Kind != loosejson.String {
			return nil, d.errAt(e, "%s[%d] must be a string, found %s", path, i, kindName(e))
		}
		out = append(out, e.Text)
	}
	return out, nil
}

// patterns reads a list of runbook name patterns. An empty pattern could
// only ever match a runbook without a name, so it is surely a mistake.
// Runbook names have no spaces, so spaces around a pattern are dropped
// (with a warning) rather than making it match nothing.
func (d *doc) patterns(n *loosejson.Node, path string) ([]string, error) {
	if n.Kind == loosejson.Null {
		return []string{}, nil
	}
	l, err := d.stringList(n, path, "runbook name patterns")
	if err != nil {
		return nil, err
	}
	for i, s := range l {
		t := strings.TrimSpace(s)
		if t == "" {
			return nil, d.errAt(elem(n, i), "%s[%d]: empty pattern", path, i)
		}
		if t != s {
			d.warn(elem(n, i).Off, "%s[%d]: spaces around %q ignored", path, i, s)
			l[i] = t
		}
	}
	return l, nil
}

// groupIDs reads a list of directory group ids.
func (d *doc) groupIDs(n *loosejson.Node, path string) ([]string, error) {
	if n.Kind == loosejson.Null {
		return []string{}, nil
	}
	l, err := d.stringList(n, path, "group ids")
	if err != nil {
		return nil, err
	}
	for i, s := range l {
		t := strings.TrimSpace(s)
		if t == "" {
			return nil, d.errAt(elem(n, i), "%s[%d]: empty group id", path, i)
		}
		l[i] = t
	}
	return l, nil
}

// elem returns the i-th element of an array node, or the node itself for
// a lone string.
func elem(n *loosejson.Node, i int) *loosejson.Node {
	if n.Kind == loosejson.Array && i < len(n.Elems) {
		return n.Elems[i]
	}
	return n
}

// canonical returns the spelling in known that key matches
// case-insensitively.
func canonical(key string, known []string) (string, bool) {
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

// kindName names a node's JSON type for an error message.
func kindName(n *loosejson.Node) string {
	switch n.Kind {
	case loosejson.Null:
		return "null"
	case loosejson.Bool:
		return "a boolean"
	case loosejson.Number:
		return "a number"
	case loosejson.String:
		return "a string"
	case loosejson.Array:
		return "a list"
	}
	return "an object"
}

// sourced names the document in a loosejson syntax error.
func sourced(err error, source string) error {
	if pe, ok := err.(*runbooker.ParseError); ok && pe.Source == "" {
		c := *pe
		c.Source = source
		return &c
	}
	return err
}
