package access

import (
	"context"
	"fmt"
	"strings"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/directory"
)

// ResolveTarget looks up the object a job acts on (kind user, device or
// group; key an id or, as directory.Lookup allows, a name) and the groups
// it is judged by: a user's groups; a device's primary user's groups, or
// its own when it has no primary user, so a VIP's laptop is as protected
// as the VIP; a group itself and the groups it belongs to. Only the
// groups this document restricts are given their display names, since
// only they appear in reasons; the others keep just their ids, which saves
// a directory lookup per group. Directory errors are returned as they are
// (ENOTFOUND for an unknown object).
func (p *Permissions) ResolveTarget(ctx context.Context, dir directory.Directory, kind, key string) (*Target, error) {
	k := directory.Kind(kind)
	if !k.Valid() {
		return nil, runbooker.Errorf(runbooker.EINVALID, "unknown target kind %q (want user, device or group)", kind)
	}
	obj, err := dir.Lookup(ctx, k, key)
	if err != nil {
		return nil, err
	}
	t := &Target{Kind: kind, ID: obj.ID, Name: obj.DisplayName}
	if obj.UserPrincipalName != "" {
		t.Name = obj.UserPrincipalName
	}
	var ids []string
	switch {
	case k == directory.Device && obj.PrimaryUser != "":
		ids, err = dir.MemberOf(ctx, directory.User, obj.PrimaryUser)
	default:
		ids, err = dir.MemberOf(ctx, k, obj.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("groups of %s %s: %w", kind, obj.ID, err)
	}
	if k == directory.Group {
		t.Groups = append(t.Groups, GroupRef{ID: obj.ID, Name: obj.DisplayName})
	}
	for _, id := range ids {
		g := GroupRef{ID: id}
		if p.restricts(id) {
			name, err := groupName(ctx, dir, id)
			if err != nil {
				return nil, err
			}
			g.Name = name
		}
		t.Groups = append(t.Groups, g)
	}
	return t, nil
}

// restricts reports whether the document has TargetEntityGroups rules for
// the group.
func (p *Permissions) restricts(id string) bool {
	return p != nil && p.targets[strings.ToLower(id)] != nil
}

// groupName is a group's display name; a group the directory no longer
// knows is named by its id.
func groupName(ctx context.Context, dir directory.Directory, id string) (string, error) {
	g, err := dir.Lookup(ctx, directory.Group, id)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return id, nil
	}
	if err != nil {
		return "", fmt.Errorf("name of group %s: %w", id, err)
	}
	return g.DisplayName, nil
}
