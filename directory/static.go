package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/runbooker/runbooker"
)

// staticDocument is the JSON shape of a static directory, in a file or
// inline in the tenant's settings.
type staticDocument struct {
	Users []struct {
		ID                string `json:"id"`
		UserPrincipalName string `json:"userPrincipalName"`
		DisplayName       string `json:"displayName"`
		Mail              string `json:"mail"`
	} `json:"users"`
	Groups []struct {
		ID          string   `json:"id"`
		DisplayName string   `json:"displayName"`
		Members     []string `json:"members"`
	} `json:"groups"`
	Devices []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		PrimaryUser string `json:"primaryUser"`
	} `json:"devices"`
}

// staticEntry is one object with what the indexes need precomputed.
type staticEntry struct {
	obj      Object
	memberOf []string // transitive, sorted, without the object itself
}

// static is a directory held entirely in memory. It never changes after
// parseStatic builds it, so it needs no lock; staticFile swaps whole ones.
type static struct {
	byID   map[string]*staticEntry          // lower-case id, all kinds
	byName map[Kind]map[string]*staticEntry // users by UPN, others by displayName
	sorted map[Kind][]*staticEntry          // Search order
}

// parseStatic reads and checks a static document and builds its indexes.
// Every problem is EINVALID and names the object it is about.
func parseStatic(data []byte) (*static, error) {
	invalid := func(format string, args ...any) error {
		return runbooker.Errorf(runbooker.EINVALID, "static directory: "+format, args...)
	}
	var doc staticDocument
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, invalid("the document is not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid("the document has more after its closing brace")
	}

	s := &static{
		byID:   map[string]*staticEntry{},
		byName: map[Kind]map[string]*staticEntry{User: {}, Group: {}, Device: {}},
		sorted: map[Kind][]*staticEntry{},
	}
	add := func(o Object, name string) error {
		if strings.TrimSpace(o.ID) == "" {
			return invalid("a %s without an id (%s)", o.Kind, describeNew(o))
		}
		id := strings.ToLower(o.ID)
		if prev, ok := s.byID[id]; ok {
			return invalid("the id %q is used twice: by %s and by %s", o.ID, describe(prev.obj), describe(o))
		}
		e := &staticEntry{obj: o}
		s.byID[id] = e
		if name != "" {
			key := strings.ToLower(name)
			if prev, ok := s.byName[o.Kind][key]; ok {
				return invalid("%s and %s have the same name %q; names must be unique within users, groups and devices", describe(prev.obj), describe(o), name)
			}
			s.byName[o.Kind][key] = e
		}
		s.sorted[o.Kind] = append(s.sorted[o.Kind], e)
		return nil
	}
	for _, u := range doc.Users {
		o := Object{Kind: User, ID: u.ID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName, Mail: u.Mail}
		if err := add(o, u.UserPrincipalName); err != nil {
			return nil, err
		}
	}
	for _, g := range doc.Groups {
		if err := add(Object{Kind: Group, ID: g.ID, DisplayName: g.DisplayName}, g.DisplayName); err != nil {
			return nil, err
		}
	}
	for _, d := range doc.Devices {
		if err := add(Object{Kind: Device, ID: d.ID, DisplayName: d.DisplayName, PrimaryUser: d.PrimaryUser}, d.DisplayName); err != nil {
			return nil, err
		}
	}

	// Devices name their user by id; keep the spelling of the user's entry.
	for _, e := range s.sorted[Device] {
		if e.obj.PrimaryUser == "" {
			continue
		}
		u, ok := s.byID[strings.ToLower(e.obj.PrimaryUser)]
		if !ok || u.obj.Kind != User {
			return nil, invalid("%s has primaryUser %q, which is not the id of a user in the document", describe(e.obj), e.obj.PrimaryUser)
		}
		e.obj.PrimaryUser = u.obj.ID
	}

	// parents holds each object's direct groups.
	parents := map[*staticEntry][]*staticEntry{}
	for _, g := range doc.Groups {
		ge := s.byID[strings.ToLower(g.ID)]
		for _, m := range g.Members {
			me, ok := s.byID[strings.ToLower(m)]
			if !ok {
				return nil, invalid("%s lists member %q, which is not the id of a user, group or device in the document", describe(ge.obj), m)
			}
			if !slices.Contains(parents[me], ge) {
				parents[me] = append(parents[me], ge)
			}
		}
	}
	// Walk upwards from every object with a visited set, so that cycles of
	// groups end instead of looping.
	for _, e := range s.byID {
		visited := map[*staticEntry]bool{e: true}
		queue := slices.Clone(parents[e])
		for len(queue) > 0 {
			g := queue[0]
			queue = queue[1:]
			if visited[g] {
				continue
			}
			visited[g] = true
			e.memberOf = append(e.memberOf, g.obj.ID)
			queue = append(queue, parents[g]...)
		}
		slices.Sort(e.memberOf)
	}

	for _, list := range s.sorted {
		slices.SortFunc(list, func(a, b *staticEntry) int { return compareObjects(&a.obj, &b.obj) })
	}
	return s, nil
}

// compareObjects is the order Search answers in: display name, then id.
func compareObjects(a, b *Object) int {
	if c := strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// describe names an object in messages the way a person would find it.
func describe(o Object) string {
	name := o.DisplayName
	if o.Kind == User && o.UserPrincipalName != "" {
		name = o.UserPrincipalName
	}
	if name == "" {
		return fmt.Sprintf("%s %q", o.Kind, o.ID)
	}
	return fmt.Sprintf("%s %q (id %q)", o.Kind, name, o.ID)
}

// describeNew names an object that has no id yet.
func describeNew(o Object) string {
	switch {
	case o.UserPrincipalName != "":
		return fmt.Sprintf("userPrincipalName %q", o.UserPrincipalName)
	case o.DisplayName != "":
		return fmt.Sprintf("displayName %q", o.DisplayName)
	}
	return "no name either"
}

// checkKind refuses kinds the contract does not know.
func checkKind(kind Kind) error {
	if !kind.Valid() {
		return runbooker.Errorf(runbooker.EINVALID, "directory: unknown kind %q (user, group or device)", kind)
	}
	return nil
}

// checkLimit refuses a Search limit below one and caps large ones.
func checkLimit(limit int) (int, error) {
	if limit < 1 {
		return 0, runbooker.Errorf(runbooker.EINVALID, "directory: search limit must be at least 1, not %d", limit)
	}
	return min(limit, MaxSearchLimit), nil
}

// MaxSearchLimit caps how many objects one Search returns, whatever the
// caller asks for.
const MaxSearchLimit = 1000

// emptyKey is the EINVALID of a lookup without a key.
func emptyKey(kind Kind) error {
	return runbooker.Errorf(runbooker.EINVALID, "directory: look up a %s by what? the key is empty", kind)
}

// notFound is the ENOTFOUND of a lookup.
func notFound(kind Kind, key string) error {
	return runbooker.Errorf(runbooker.ENOTFOUND, "directory: no %s %q", kind, key)
}

// Lookup implements Directory.
func (s *static) Lookup(_ context.Context, kind Kind, key string) (*Object, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, emptyKey(kind)
	}
	k := strings.ToLower(key)
	if e, ok := s.byID[k]; ok && e.obj.Kind == kind {
		o := e.obj
		return &o, nil
	}
	if e, ok := s.byName[kind][k]; ok {
		o := e.obj
		return &o, nil
	}
	return nil, notFound(kind, key)
}

// Search implements Directory.
func (s *static) Search(_ context.Context, kind Kind, query string, limit int) ([]Object, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, err
	}
	q := strings.ToLower(query)
	out := []Object{}
	for _, e := range s.sorted[kind] {
		if len(out) == limit {
			break
		}
		if q == "" || matches(&e.obj, q) {
			out = append(out, e.obj)
		}
	}
	return out, nil
}

// matches reports whether lower-case q is part of one of o's searchable
// fields.
func matches(o *Object, q string) bool {
	for _, f := range []string{o.ID, o.DisplayName, o.UserPrincipalName, o.Mail} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// MemberOf implements Directory.
func (s *static) MemberOf(_ context.Context, kind Kind, id string) ([]string, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	e, ok := s.byID[strings.ToLower(id)]
	if !ok || e.obj.Kind != kind {
		return nil, runbooker.Errorf(runbooker.ENOTFOUND, "directory: no %s with id %q", kind, id)
	}
	return append([]string{}, e.memberOf...), nil
}
