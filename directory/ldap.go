package directory

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/runbooker/runbooker"
)

// ldapDirectory answers from an LDAP server: Active Directory with the
// defaults, OpenLDAP or another server with filters and attributes set.
type ldapDirectory struct {
	cfg  Config
	pool *ldapPool
	// binaryID is set when the id attribute is AD's objectGUID, whose
	// values are 16 raw bytes shown as a GUID string.
	binaryID bool
}

// newLDAP prepares a directory for cfg (with defaults filled in). It does
// not connect yet.
func newLDAP(cfg Config, password string) (*ldapDirectory, error) {
	if cfg.BindDN != "" && password == "" {
		// An empty password would make the bind unauthenticated, which
		// servers accept without checking anything.
		return nil, runbooker.Errorf(runbooker.EINVALID, "directory: bindDN %s is set but its password is empty", cfg.BindDN)
	}
	if cfg.BindDN == "" && password != "" {
		return nil, runbooker.Errorf(runbooker.EINVALID, "directory: a bind password is given but no bindDN")
	}
	tc, err := tlsConfigFor(cfg)
	if err != nil {
		return nil, err
	}
	return &ldapDirectory{
		cfg: cfg,
		pool: &ldapPool{
			url: cfg.URL, startTLS: cfg.StartTLS, tlsConfig: tc,
			bindDN: cfg.BindDN, password: password, control: cfg.Control,
		},
		binaryID: strings.EqualFold(cfg.Attributes.ID, "objectGUID"),
	}, nil
}

// Close closes the idle connections to the server.
func (d *ldapDirectory) Close() error { return d.pool.Close() }

// kindFilter is the configured filter of kind.
func (d *ldapDirectory) kindFilter(kind Kind) string {
	switch kind {
	case User:
		return d.cfg.UserFilter
	case Group:
		return d.cfg.GroupFilter
	}
	return d.cfg.DeviceFilter
}

// attributes lists what to read of an entry of kind.
func (d *ldapDirectory) attributes(kind Kind) []string {
	a := d.cfg.Attributes
	attrs := []string{a.ID, a.DisplayName, "cn"}
	switch kind {
	case User:
		attrs = append(attrs, a.UserPrincipalName, a.Mail)
	case Device:
		attrs = append(attrs, a.PrimaryUser)
	}
	return attrs
}

// request is a subtree search under the base DN.
func (d *ldapDirectory) request(filter string, limit int, attrs []string) *ldap.SearchRequest {
	return ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		limit, 0, false, filter, attrs, nil)
}

// idClause is an equality filter on the id attribute, or "" when value
// cannot be an id (a GUID attribute given something that is not a GUID).
func (d *ldapDirectory) idClause(value string) string {
	if d.binaryID {
		raw, ok := parseGUID(value)
		if !ok {
			return ""
		}
		var b strings.Builder
		for _, c := range raw {
			fmt.Fprintf(&b, `\%02x`, c)
		}
		return "(" + d.cfg.Attributes.ID + "=" + b.String() + ")"
	}
	return "(" + d.cfg.Attributes.ID + "=" + ldap.EscapeFilter(value) + ")"
}

// entryID reads the id of e, rendering objectGUID as a GUID string.
func (d *ldapDirectory) entryID(e *ldap.Entry) string {
	if d.binaryID {
		return formatGUID(e.GetEqualFoldRawAttributeValue(d.cfg.Attributes.ID))
	}
	return e.GetEqualFoldAttributeValue(d.cfg.Attributes.ID)
}

// object turns an entry into an Object; the device's primary user is
// still a DN here (see resolvePrimaryUsers).
func (d *ldapDirectory) object(kind Kind, e *ldap.Entry) Object {
	a := d.cfg.Attributes
	o := Object{Kind: kind, ID: d.entryID(e), DisplayName: e.GetEqualFoldAttributeValue(a.DisplayName)}
	if o.DisplayName == "" {
		o.DisplayName = e.GetEqualFoldAttributeValue("cn")
	}
	switch kind {
	case User:
		o.UserPrincipalName = e.GetEqualFoldAttributeValue(a.UserPrincipalName)
		o.Mail = e.GetEqualFoldAttributeValue(a.Mail)
	case Device:
		o.PrimaryUser = e.GetEqualFoldAttributeValue(a.PrimaryUser)
	}
	return o
}

// objects converts entries, dropping those without an id: nothing could
// refer to them.
func (d *ldapDirectory) objects(kind Kind, entries []*ldap.Entry) []Object {
	out := make([]Object, 0, len(entries))
	for _, e := range entries {
		if o := d.object(kind, e); o.ID != "" {
			out = append(out, o)
		}
	}
	return out
}

// resolvePrimaryUsers replaces the DNs in the PrimaryUser of devices by
// the id of the user entry they name; a DN that is not a user in the
// directory leaves the field empty.
func (d *ldapDirectory) resolvePrimaryUsers(ctx context.Context, objs []Object) error {
	ids := map[string]string{}
	for i := range objs {
		dn := objs[i].PrimaryUser
		if dn == "" {
			continue
		}
		id, ok := ids[lowerDN(dn)]
		if !ok {
			req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
				1, 0, false, d.cfg.UserFilter, []string{d.cfg.Attributes.ID}, nil)
			entries, err := d.pool.search(ctx, req)
			if err != nil {
				return err
			}
			if len(entries) == 1 {
				id = d.entryID(entries[0])
			}
			ids[lowerDN(dn)] = id
		}
		objs[i].PrimaryUser = id
	}
	return nil
}

// Lookup implements Directory.
func (d *ldapDirectory) Lookup(ctx context.Context, kind Kind, key string) (*Object, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, emptyKey(kind)
	}
	a := d.cfg.Attributes
	clauses := d.idClause(key)
	value := ldap.EscapeFilter(key)
	if kind == User {
		clauses += "(" + a.UserPrincipalName + "=" + value + ")"
	} else {
		clauses += "(" + a.DisplayName + "=" + value + ")(cn=" + value + ")"
	}
	filter := "(&" + d.kindFilter(kind) + "(|" + clauses + "))"
	entries, err := d.pool.search(ctx, d.request(filter, 10, d.attributes(kind)))
	if err != nil {
		return nil, err
	}
	found := d.objects(kind, entries)
	var pick *Object
	for i := range found {
		if strings.EqualFold(found[i].ID, key) {
			pick = &found[i]
		}
	}
	switch {
	case pick != nil:
	case len(found) == 1:
		pick = &found[0]
	case len(found) == 0:
		return nil, notFound(kind, key)
	default:
		return nil, runbooker.Errorf(runbooker.EINVALID, "directory: %d %ss match %q; look it up by id", len(found), kind, key)
	}
	if kind == Device {
		one := []Object{*pick}
		if err := d.resolvePrimaryUsers(ctx, one); err != nil {
			return nil, err
		}
		pick = &one[0]
	}
	return pick, nil
}

// Search implements Directory. The server picks which limit objects
// match; they are then sorted by display name and id.
func (d *ldapDirectory) Search(ctx context.Context, kind Kind, query string, limit int) ([]Object, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, err
	}
	filter := d.kindFilter(kind)
	if query != "" {
		a := d.cfg.Attributes
		sub := "=*" + ldap.EscapeFilter(query) + "*)"
		clauses := "(" + a.DisplayName + sub + "(cn" + sub
		if kind == User {
			clauses += "(" + a.UserPrincipalName + sub + "(" + a.Mail + sub
		}
		// Ids such as GUIDs have no substring matching; they are found
		// when given whole.
		clauses += d.idClause(query)
		filter = "(&" + filter + "(|" + clauses + "))"
	}
	entries, err := d.pool.search(ctx, d.request(filter, limit, d.attributes(kind)))
	if err != nil {
		return nil, err
	}
	found := d.objects(kind, entries)
	slices.SortFunc(found, func(a, b Object) int { return compareObjects(&a, &b) })
	if len(found) > limit {
		found = found[:limit]
	}
	if kind == Device {
		if err := d.resolvePrimaryUsers(ctx, found); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// memberChunk is how many DNs one level of the membership walk puts into
// a single filter.
const memberChunk = 50

// MemberOf implements Directory. On Active Directory (Config.
// ActiveDirectory) the server computes the closure; elsewhere the groups
// are walked one level at a time by searching for groups whose member
// attribute holds a DN found so far, with a visited set so cycles end.
// This needs no memberOf overlay on the server.
func (d *ldapDirectory) MemberOf(ctx context.Context, kind Kind, id string) ([]string, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	clause := d.idClause(id)
	if id == "" || clause == "" {
		return nil, runbooker.Errorf(runbooker.ENOTFOUND, "directory: no %s with id %q", kind, id)
	}
	entries, err := d.pool.search(ctx, d.request("(&"+d.kindFilter(kind)+clause+")", 2, []string{"1.1"}))
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		return nil, runbooker.Errorf(runbooker.ENOTFOUND, "directory: no %s with id %q", kind, id)
	}
	dn := entries[0].DN
	member := d.cfg.Attributes.Member
	attrs := []string{d.cfg.Attributes.ID}
	ids := []string{}

	if d.cfg.ActiveDirectory {
		groups, err := d.pool.search(ctx, d.request(d.inChainFilter(dn), 0, attrs))
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if gid := d.entryID(g); gid != "" {
				ids = append(ids, gid)
			}
		}
	} else {
		visited := map[string]bool{lowerDN(dn): true}
		frontier := []string{dn}
		for len(frontier) > 0 {
			var next []string
			for chunk := range slices.Chunk(frontier, memberChunk) {
				var b strings.Builder
				for _, m := range chunk {
					b.WriteString("(" + member + "=" + escapeDNValue(m) + ")")
				}
				groups, err := d.pool.search(ctx, d.request("(&"+d.cfg.GroupFilter+"(|"+b.String()+"))", 0, attrs))
				if err != nil {
					return nil, err
				}
				for _, g := range groups {
					if visited[lowerDN(g.DN)] {
						continue
					}
					visited[lowerDN(g.DN)] = true
					next = append(next, g.DN)
					if gid := d.entryID(g); gid != "" {
						ids = append(ids, gid)
					}
				}
			}
			frontier = next
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// inChainFilter asks Active Directory for every group that has dn as a
// member at any depth (LDAP_MATCHING_RULE_IN_CHAIN).
func (d *ldapDirectory) inChainFilter(dn string) string {
	return "(&" + d.cfg.GroupFilter + "(" + d.cfg.Attributes.Member + ":1.2.840.113556.1.4.1941:=" + escapeDNValue(dn) + "))"
}

// invalidLogin is the one answer for every failed sign-in, so that it
// does not tell which names exist.
func invalidLogin() error {
	return runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid user name or password")
}

// Authenticate implements Authenticator: find the user's entry by the
// userPrincipalName attribute, then bind as its DN with password on a
// connection of its own.
func (d *ldapDirectory) Authenticate(ctx context.Context, login, password string) (*Object, error) {
	// An empty password turns a simple bind into an unauthenticated one,
	// which servers answer with success. Refuse it before anything else.
	if password == "" || strings.TrimSpace(login) == "" {
		return nil, invalidLogin()
	}
	filter := "(&" + d.cfg.UserFilter + "(" + d.cfg.Attributes.UserPrincipalName + "=" + ldap.EscapeFilter(login) + "))"
	entries, err := d.pool.search(ctx, d.request(filter, 2, d.attributes(User)))
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		return nil, invalidLogin()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.pool.bindAs(entries[0].DN, password); err != nil {
		if runbooker.ErrorCode(err) == runbooker.EUNAVAILABLE {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", invalidLogin(), err)
	}
	o := d.object(User, entries[0])
	if o.ID == "" {
		return nil, invalidLogin()
	}
	return &o, nil
}

// formatGUID renders AD's 16-byte objectGUID the way Windows shows it:
// the first three fields are little-endian.
func formatGUID(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10:])
}

// parseGUID is the inverse of formatGUID; it accepts the string with or
// without braces.
func parseGUID(s string) ([]byte, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 {
		return nil, false
	}
	return []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6],
		h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]}, true
}
