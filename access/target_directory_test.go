package access

import (
	"context"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/directory"
)

// memDirectory is a directory held in maps. No provider is in this
// package's reach yet, and ResolveTarget needs only Lookup and MemberOf.
type memDirectory struct {
	objects  []directory.Object
	memberOf map[string][]string // object id → transitive group ids
	lookups  int
}

func (m *memDirectory) Lookup(_ context.Context, kind directory.Kind, key string) (*directory.Object, error) {
	m.lookups++
	for i, o := range m.objects {
		if o.Kind == kind && (strings.EqualFold(o.ID, key) || strings.EqualFold(o.UserPrincipalName, key) ||
			kind != directory.User && strings.EqualFold(o.DisplayName, key)) {
			return &m.objects[i], nil
		}
	}
	return nil, runbooker.Errorf(runbooker.ENOTFOUND, "no %s %q", kind, key)
}

func (m *memDirectory) Search(context.Context, directory.Kind, string, int) ([]directory.Object, error) {
	return nil, nil
}

func (m *memDirectory) MemberOf(_ context.Context, _ directory.Kind, id string) ([]string, error) {
	return m.memberOf[id], nil
}

func TestResolveTarget(t *testing.T) {
	dir := &memDirectory{
		objects: []directory.Object{
			{Kind: directory.User, ID: "u-ceo", DisplayName: "The CEO", UserPrincipalName: "ceo@contoso.com"},
			{Kind: directory.User, ID: "u-jane", DisplayName: "Jane", UserPrincipalName: "jane@contoso.com"},
			{Kind: directory.Device, ID: "d-ceo", DisplayName: "CEO-LAPTOP", PrimaryUser: "u-ceo"},
			{Kind: directory.Device, ID: "d-kiosk", DisplayName: "KIOSK-1"},
			{Kind: directory.Group, ID: "g-vip", DisplayName: "VIP users"},
			{Kind: directory.Group, ID: "g-all-users", DisplayName: "All users"},
			{Kind: directory.Group, ID: "g-kiosks", DisplayName: "Kiosks"},
		},
		memberOf: map[string][]string{
			"u-ceo":   {"g-all-users", "g-vip", "g-gone"},
			"u-jane":  {"g-all-users"},
			"d-ceo":   {"g-laptops"},
			"d-kiosk": {"g-kiosks"},
			"g-vip":   {"g-all-users"},
		},
	}
	p := mustPermissions(t, vipDocument)
	helpdesk, vipSupporter := person("g-helpdesk"), person("g-helpdesk", "g-vip-supporters")
	ctx := context.Background()

	tests := []struct {
		kind, key string
		groups    string // id=name, in order
		helpdesk  bool   // may the helpdesk run a runbook of the kind on it
	}{
		{"user", "ceo@contoso.com", "g-all-users=,g-vip=VIP users,g-gone=", false},
		{"user", "JANE@contoso.com", "g-all-users=", true},
		{"device", "CEO-LAPTOP", "g-all-users=,g-vip=VIP users,g-gone=", false}, // the primary user's groups
		{"device", "d-kiosk", "g-kiosks=", true},                                // no primary user: its own
		{"group", "VIP users", "g-vip=VIP users,g-all-users=", false},
	}
	for _, tt := range tests {
		tg, err := p.ResolveTarget(ctx, dir, tt.kind, tt.key)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.kind, tt.key, err)
		}
		var got []string
		for _, g := range tg.Groups {
			got = append(got, g.ID+"="+g.Name)
		}
		if strings.Join(got, ",") != tt.groups {
			t.Errorf("%s %s: groups %q, want %q", tt.kind, tt.key, strings.Join(got, ","), tt.groups)
		}
		runbook := "rjgit-" + tt.kind + "_security_x"
		pattern := "rjgit-user_*"
		if tt.kind == "device" {
			pattern = "rjgit-device_*"
		}
		if tt.kind == "group" {
			p := mustPermissions(t, strings.Replace(vipDocument, `"rjgit-device_*"`, `"rjgit-device_*", "rjgit-group_*"`, 1))
			d := Decide(p, helpdesk, Run, runbook, tg)
			if d.Allow || !strings.Contains(d.Reason, `on members of "VIP users"`) {
				t.Errorf("group: %+v", d)
			}
			continue
		}
		d := Decide(p, helpdesk, Run, runbook, tg)
		if d.Allow != tt.helpdesk {
			t.Errorf("helpdesk on %s %s: %+v", tt.kind, tt.key, d)
		}
		if !d.Allow && !strings.Contains(d.Reason, `role "Helpdesk" may not run `+pattern+` on members of "VIP users"`) {
			t.Errorf("helpdesk on %s %s: reason %q", tt.kind, tt.key, d.Reason)
		}
		if d := Decide(p, vipSupporter, Run, runbook, tg); !d.Allow {
			t.Errorf("VIP supporter on %s %s: %+v", tt.kind, tt.key, d)
		}
	}

	if _, err := p.ResolveTarget(ctx, dir, "user", "nobody@contoso.com"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := p.ResolveTarget(ctx, dir, "printer", "x"); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("unknown kind: %v", err)
	}
	// Only restricted groups cost a name lookup.
	dir.lookups = 0
	if _, err := p.ResolveTarget(ctx, dir, "user", "u-ceo"); err != nil || dir.lookups != 2 {
		t.Errorf("lookups %d (want the user and g-vip), err %v", dir.lookups, err)
	}
}
