package access

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/runbooker/runbooker/loosejson"
)

// allRights lists every right, in the order the portal shows them.
var allRights = []Right{Admin, CanSeeRunbooks, CanRunRunbooks, CanReadRunbookTable, CanReadRunbookDetails,
	CanSyncRunbooksWithUpstream, CanEditRunbookSchedules}

// AllRights returns every right there is.
func AllRights() []Right { return slices.Clone(allRights) }

// Role is a portal role: a name and the rights it grants to whoever it is
// assigned to.
type Role struct {
	Name    string  `json:"name"`
	Rights  []Right `json:"rights"`
	BuiltIn bool    `json:"builtIn,omitempty"`
}

// builtInRoles are RealmJoin's predefined roles that concern runbooks. A
// tenant cannot redefine them, so the names mean the same everywhere.
var builtInRoles = []Role{
	{Name: "Administrator", Rights: []Right{Admin}, BuiltIn: true},
	{Name: "Runbook Runner", Rights: []Right{CanSeeRunbooks, CanRunRunbooks, CanReadRunbookTable, CanReadRunbookDetails}, BuiltIn: true},
	{Name: "Reader", Rights: []Right{CanSeeRunbooks, CanReadRunbookTable, CanReadRunbookDetails}, BuiltIn: true},
}

// BuiltInRoles returns the predefined roles.
func BuiltInRoles() []Role {
	out := make([]Role, len(builtInRoles))
	for i, r := range builtInRoles {
		out[i] = r
		out[i].Rights = slices.Clone(r.Rights)
	}
	return out
}

// RoleAssignment gives a role to one user (by userPrincipalName or
// directory id) or to the members of one group (by id); exactly one of
// User and Group is set.
type RoleAssignment struct {
	Role  string `json:"role"`
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// Roles is a tenant's roles document (the settings document "roles"),
// checked: the built-in roles, the tenant's custom roles and who has
// which. It is not changed after ParseRoles; a nil *Roles assigns nothing.
type Roles struct {
	roles       []Role // built-in first, then custom, in document order
	assignments []RoleAssignment
	byUser      map[string][]int // lower-cased user key → indexes into roles
	byGroup     map[string][]int // lower-cased group id → indexes into roles
}

// ParseRoles reads a tenant's roles document:
//
//	{"roles": [{"name": "Helpdesk", "rights": ["CanSeeRunbooks", "CanRunRunbooks"]}],
//	 "assignments": [{"role": "Administrator", "user": "admin@contoso.com"},
//	                 {"role": "Helpdesk", "group": "<group id>"}]}
//
// Comments and trailing commas are allowed; keys and role names compare
// case-insensitively. An empty document (or `null`, or `{}`) assigns
// nothing. Anything doubtful is an error (*runbooker.ParseError naming the
// position and the object): an unknown key or right, an assignment of an
// unknown role or naming both or neither of user and group, a custom role
// with a built-in's name, a role defined twice. Refusing is safer than
// guessing in a document that hands out rights.
func ParseRoles(src []byte) (*Roles, error) {
	rs := &Roles{roles: BuiltInRoles(), byUser: map[string][]int{}, byGroup: map[string][]int{}}
	if len(bytes.TrimSpace(src)) == 0 {
		return rs, nil
	}
	root, err := loosejson.Parse(src)
	if err != nil {
		return nil, sourced(err, "roles")
	}
	d := &doc{src: src, source: "roles"}
	if root.Kind == loosejson.Null {
		return rs, nil
	}
	if root.Kind != loosejson.Object {
		return nil, d.errAt(root, "the roles document must be a JSON object, found %s", kindName(root))
	}
	var roles, assignments *loosejson.Node
	for _, m := range root.Members {
		switch {
		case strings.EqualFold(m.Key, "roles"):
			roles = m.Val
		case strings.EqualFold(m.Key, "assignments"):
			assignments = m.Val
		default:
			return nil, d.errAtOff(m.Off, "unknown key %q (known keys: roles, assignments)", m.Key)
		}
	}
	if err := rs.parseCustom(d, roles); err != nil {
		return nil, err
	}
	if err := rs.parseAssignments(d, assignments); err != nil {
		return nil, err
	}
	return rs, nil
}

func (rs *Roles) parseCustom(d *doc, n *loosejson.Node) error {
	if n == nil || n.Kind == loosejson.Null {
		return nil
	}
	if n.Kind != loosejson.Array {
		return d.errAt(n, "roles must be a list of role objects, found %s", kindName(n))
	}
	for i, e := range n.Elems {
		f, err := d.fields(e, "roles", i, "name", "rights", "description")
		if err != nil {
			return err
		}
		name, err := d.text(f["name"], e, "roles", i, "name")
		if err != nil {
			return err
		}
		at := rolePath(i, name)
		if k := rs.index(name); k >= 0 {
			if rs.roles[k].BuiltIn {
				return d.errAt(e, "%s: %q is a built-in role and cannot be redefined", at, rs.roles[k].Name)
			}
			return d.errAt(e, "%s: role %q is defined twice", at, name)
		}
		r := Role{Name: name, Rights: []Right{}}
		if rn := f["rights"]; rn != nil && rn.Kind != loosejson.Null {
			texts, err := d.stringList(rn, at+".rights", "rights")
			if err != nil {
				return err
			}
			for k, t := range texts {
				right, ok := parseRight(t)
				if !ok {
					return d.errAt(elem(rn, k), "%s.rights[%d]: unknown right %q (known rights: %s)", at, k, t, rightNames())
				}
				if !slices.Contains(r.Rights, right) {
					r.Rights = append(r.Rights, right)
				}
			}
		}
		rs.roles = append(rs.roles, r)
	}
	return nil
}

func (rs *Roles) parseAssignments(d *doc, n *loosejson.Node) error {
	if n == nil || n.Kind == loosejson.Null {
		return nil
	}
	if n.Kind != loosejson.Array {
		return d.errAt(n, "assignments must be a list of assignment objects, found %s", kindName(n))
	}
	for i, e := range n.Elems {
		f, err := d.fields(e, "assignments", i, "role", "user", "group", "description")
		if err != nil {
			return err
		}
		role, err := d.text(f["role"], e, "assignments", i, "role")
		if err != nil {
			return err
		}
		k := rs.index(role)
		if k < 0 {
			return d.errAt(f["role"], "assignments[%d]: unknown role %q (roles: %s)", i, role, strings.Join(rs.Names(), ", "))
		}
		a := RoleAssignment{Role: rs.roles[k].Name}
		if f["user"] != nil && f["group"] != nil {
			return d.errAt(e, "assignments[%d] (role %q): names both a user and a group; write one assignment for each", i, role)
		}
		switch {
		case f["user"] != nil:
			if a.User, err = d.text(f["user"], e, "assignments", i, "user"); err != nil {
				return err
			}
			rs.byUser[strings.ToLower(a.User)] = appendIndex(rs.byUser[strings.ToLower(a.User)], k)
		case f["group"] != nil:
			if a.Group, err = d.text(f["group"], e, "assignments", i, "group"); err != nil {
				return err
			}
			rs.byGroup[strings.ToLower(a.Group)] = appendIndex(rs.byGroup[strings.ToLower(a.Group)], k)
		default:
			return d.errAt(e, "assignments[%d] (role %q): names neither a user nor a group", i, role)
		}
		rs.assignments = append(rs.assignments, a)
	}
	return nil
}

// fields checks that list[i] is an object with only the known keys and
// returns its members by lower-cased key.
func (d *doc) fields(n *loosejson.Node, list string, i int, known ...string) (map[string]*loosejson.Node, error) {
	if n.Kind != loosejson.Object {
		return nil, d.errAt(n, "%s[%d] must be an object, found %s", list, i, kindName(n))
	}
	f := map[string]*loosejson.Node{}
	for _, m := range n.Members {
		key, ok := canonical(m.Key, known)
		if !ok {
			return nil, d.errAtOff(m.Off, "%s[%d]: unknown key %q (known keys: %s)", list, i, m.Key, strings.Join(known, ", "))
		}
		if _, dup := f[key]; dup {
			return nil, d.errAtOff(m.Off, "%s[%d]: %q is given twice", list, i, key)
		}
		f[key] = m.Val
	}
	return f, nil
}

// text reads the required, non-blank string field key of list[i] (the
// object obj).
func (d *doc) text(n, obj *loosejson.Node, list string, i int, key string) (string, error) {
	if n == nil {
		return "", d.errAt(obj, "%s[%d]: %q is missing", list, i, key)
	}
	if n.Kind != loosejson.String {
		return "", d.errAt(n, "%s[%d].%s must be a string, found %s", list, i, key, kindName(n))
	}
	if strings.TrimSpace(n.Text) == "" {
		return "", d.errAt(n, "%s[%d].%s is empty", list, i, key)
	}
	return n.Text, nil
}

// rolePath names a custom role in messages: roles[2] ("Helpdesk").
func rolePath(i int, name string) string {
	return "roles[" + strconv.Itoa(i) + "] (" + strconv.Quote(name) + ")"
}

// RightsOf returns the union of the rights of every role assigned to the
// person or to one of their groups, with implied rights filled in (Admin
// implies every right, CanRunRunbooks implies CanSeeRunbooks). userKeys are
// the person's userPrincipalName and directory id, groups the ids of their
// groups; all compare case-insensitively. The map is never nil.
func (rs *Roles) RightsOf(userKeys []string, groups []string) map[Right]bool {
	out := map[Right]bool{}
	if rs == nil {
		return out
	}
	grant := func(idx []int) {
		for _, k := range idx {
			for _, r := range rs.roles[k].Rights {
				out[r] = true
			}
		}
	}
	for _, u := range userKeys {
		grant(rs.byUser[strings.ToLower(u)])
	}
	for _, g := range groups {
		grant(rs.byGroup[strings.ToLower(g)])
	}
	if out[Admin] {
		for _, r := range allRights {
			out[r] = true
		}
	}
	if out[CanRunRunbooks] {
		out[CanSeeRunbooks] = true
	}
	return out
}

// Names returns the names of every role, built-in ones first.
func (rs *Roles) Names() []string {
	if rs == nil {
		rs = &Roles{roles: builtInRoles}
	}
	names := make([]string, len(rs.roles))
	for i, r := range rs.roles {
		names[i] = r.Name
	}
	return names
}

// Role returns the role named name (case-insensitively).
func (rs *Roles) Role(name string) (Role, bool) {
	if rs == nil {
		rs = &Roles{roles: builtInRoles}
	}
	k := rs.index(name)
	if k < 0 {
		return Role{}, false
	}
	r := rs.roles[k]
	r.Rights = slices.Clone(r.Rights)
	return r, true
}

// All returns every role, built-in ones first.
func (rs *Roles) All() []Role {
	if rs == nil {
		return BuiltInRoles()
	}
	out := make([]Role, len(rs.roles))
	for i, r := range rs.roles {
		out[i] = r
		out[i].Rights = slices.Clone(r.Rights)
	}
	return out
}

// Assignments returns the assignments in document order, each naming its
// role in the role's own spelling.
func (rs *Roles) Assignments() []RoleAssignment {
	if rs == nil {
		return nil
	}
	return slices.Clone(rs.assignments)
}

func (rs *Roles) index(name string) int {
	for i, r := range rs.roles {
		if strings.EqualFold(r.Name, name) {
			return i
		}
	}
	return -1
}

// parseRight accepts a right's name case-insensitively.
func parseRight(s string) (Right, bool) {
	for _, r := range allRights {
		if strings.EqualFold(string(r), s) {
			return r, true
		}
	}
	return "", false
}

func rightNames() string {
	names := make([]string, len(allRights))
	for i, r := range allRights {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

func appendIndex(l []int, k int) []int {
	if slices.Contains(l, k) {
		return l
	}
	return append(l, k)
}
