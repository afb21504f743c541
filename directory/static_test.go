package directory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// staticDoc is a small organisation: nested groups with a cycle (admins
// and ops contain each other), a device in a group, a device with a user.
const staticDoc = `{
  "users": [
    {"id": "u-alice", "userPrincipalName": "alice@example.test", "displayName": "Alice Adams", "mail": "alice@mail.test"},
    {"id": "u-bob", "userPrincipalName": "bob@example.test", "displayName": "Bob Brown"},
    {"id": "u-carol", "userPrincipalName": "carol@example.test", "displayName": "Carol Clark"}
  ],
  "groups": [
    {"id": "g-staff", "displayName": "Staff", "members": ["g-it", "u-carol"]},
    {"id": "g-it", "displayName": "IT", "members": ["g-admins", "d-laptop"]},
    {"id": "g-admins", "displayName": "Admins", "members": ["u-alice", "g-ops"]},
    {"id": "g-ops", "displayName": "Ops", "members": ["g-admins", "u-bob"]},
    {"id": "g-empty", "displayName": "Empty"}
  ],
  "devices": [
    {"id": "d-laptop", "displayName": "LAPTOP-01", "primaryUser": "U-ALICE"},
    {"id": "d-kiosk", "displayName": "KIOSK"}
  ]
}`

func mustStatic(t *testing.T, doc string) *static {
	t.Helper()
	s, err := parseStatic([]byte(doc))
	if err != nil {
		t.Fatalf("parseStatic: %v", err)
	}
	return s
}

func TestStaticLookup(t *testing.T) {
	s := mustStatic(t, staticDoc)
	ctx := context.Background()
	for _, tc := range []struct {
		kind   Kind
		key    string
		wantID string
	}{
		{User, "u-alice", "u-alice"},
		{User, "U-ALICE", "u-alice"},
		{User, "Bob@Example.Test", "u-bob"},
		{Group, "g-it", "g-it"},
		{Group, "admins", "g-admins"},
		{Device, "laptop-01", "d-laptop"},
		{Device, "d-kiosk", "d-kiosk"},
	} {
		o, err := s.Lookup(ctx, tc.kind, tc.key)
		if err != nil {
			t.Errorf("Lookup(%s, %q): %v", tc.kind, tc.key, err)
			continue
		}
		if o.ID != tc.wantID || o.Kind != tc.kind {
			t.Errorf("Lookup(%s, %q) = %s %s, want %s", tc.kind, tc.key, o.Kind, o.ID, tc.wantID)
		}
	}
	o, _ := s.Lookup(ctx, Device, "LAPTOP-01")
	if o.PrimaryUser != "u-alice" {
		t.Errorf("primary user = %q, want the user's own spelling u-alice", o.PrimaryUser)
	}
	o.DisplayName = "changed by the caller"
	if again, _ := s.Lookup(ctx, Device, "d-laptop"); again.DisplayName != "LAPTOP-01" {
		t.Errorf("a caller's change leaked into the directory: %q", again.DisplayName)
	}

	for _, tc := range []struct {
		kind Kind
		key  string
		code string
	}{
		{User, "nobody", runbooker.ENOTFOUND},
		{User, "Alice Adams", runbooker.ENOTFOUND}, // users are found by UPN, not display name
		{Group, "u-alice", runbooker.ENOTFOUND},    // an id of another kind
		{Device, "", runbooker.EINVALID},
		{Kind("printer"), "x", runbooker.EINVALID},
	} {
		_, err := s.Lookup(ctx, tc.kind, tc.key)
		if runbooker.ErrorCode(err) != tc.code {
			t.Errorf("Lookup(%s, %q) error = %v, want %s", tc.kind, tc.key, err, tc.code)
		}
		if tc.code == runbooker.ENOTFOUND && !strings.Contains(runbooker.ErrorMessage(err), string(tc.kind)) {
			t.Errorf("message %q does not say what was looked for", runbooker.ErrorMessage(err))
		}
	}
}

func TestStaticMemberOfIsTransitiveAndSurvivesCycles(t *testing.T) {
	s := mustStatic(t, staticDoc)
	ctx := context.Background()
	for _, tc := range []struct {
		kind Kind
		id   string
		want []string
	}{
		{User, "u-alice", []string{"g-admins", "g-it", "g-ops", "g-staff"}},
		{User, "U-BOB", []string{"g-admins", "g-it", "g-ops", "g-staff"}},
		{User, "u-carol", []string{"g-staff"}},
		{Device, "d-laptop", []string{"g-it", "g-staff"}},
		{Device, "d-kiosk", []string{}},
		{Group, "g-admins", []string{"g-it", "g-ops", "g-staff"}},
		{Group, "g-staff", []string{}},
	} {
		got, err := s.MemberOf(ctx, tc.kind, tc.id)
		if err != nil {
			t.Fatalf("MemberOf(%s, %s): %v", tc.kind, tc.id, err)
		}
		if got == nil || !slices.Equal(got, tc.want) {
			t.Errorf("MemberOf(%s, %s) = %#v, want %#v", tc.kind, tc.id, got, tc.want)
		}
	}
	if _, err := s.MemberOf(ctx, Group, "u-alice"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("MemberOf of a user id as a group: %v, want ENOTFOUND", err)
	}
	if _, err := s.MemberOf(ctx, User, "alice@example.test"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("MemberOf takes ids only, a UPN gave %v", err)
	}
}

func TestStaticSearch(t *testing.T) {
	s := mustStatic(t, staticDoc)
	ctx := context.Background()
	ids := func(objs []Object) []string {
		var out []string
		for _, o := range objs {
			out = append(out, o.ID)
		}
		return out
	}
	for _, tc := range []struct {
		kind  Kind
		query string
		limit int
		want  []string
	}{
		{User, "", 10, []string{"u-alice", "u-bob", "u-carol"}},
		{User, "", 2, []string{"u-alice", "u-bob"}},
		{User, "MAIL.TEST", 10, []string{"u-alice"}},              // mail
		{User, "bob@", 10, []string{"u-bob"}},                     // userPrincipalName
		{User, "r", 10, []string{"u-bob", "u-carol"}},             // display names Bob Brown, Carol Clark
		{Group, "o-", 10, nil},                                    // ids do not leak across kinds
		{Group, "g-", 3, []string{"g-admins", "g-empty", "g-it"}}, // ordered by name
		{Device, "kio", 10, []string{"d-kiosk"}},
		{Device, "zzz", 10, nil},
	} {
		got, err := s.Search(ctx, tc.kind, tc.query, tc.limit)
		if err != nil {
			t.Fatalf("Search(%s, %q): %v", tc.kind, tc.query, err)
		}
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("Search(%s, %q, %d) = %v, want %v", tc.kind, tc.query, tc.limit, ids(got), tc.want)
		}
	}
	if _, err := s.Search(ctx, User, "", 0); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("limit 0: %v, want EINVALID", err)
	}
}

func TestStaticDocumentErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // parts of the message
	}{
		{"not JSON", `{"users": [`, []string{"not valid"}},
		{"unknown field", `{"users": [{"id": "u1", "upn": "x"}]}`, []string{`"upn"`}},
		{"trailing data", `{} {}`, []string{"more after"}},
		{"missing id", `{"groups": [{"displayName": "Staff"}]}`, []string{"group without an id", `"Staff"`}},
		{"duplicate id across kinds", `{"users": [{"id": "x1", "userPrincipalName": "a@b"}], "devices": [{"id": "X1", "displayName": "PC"}]}`,
			[]string{`"X1"`, `user "a@b"`, `device "PC"`}},
		{"duplicate UPN", `{"users": [{"id": "1", "userPrincipalName": "a@b"}, {"id": "2", "userPrincipalName": "A@B"}]}`,
			[]string{"same name", `"A@B"`}},
		{"duplicate group name", `{"groups": [{"id": "1", "displayName": "Staff"}, {"id": "2", "displayName": "staff"}]}`,
			[]string{"same name"}},
		{"unknown member", `{"groups": [{"id": "g1", "displayName": "Staff", "members": ["ghost"]}]}`,
			[]string{`group "Staff" (id "g1")`, `"ghost"`}},
		{"unknown primary user", `{"devices": [{"id": "d1", "displayName": "PC", "primaryUser": "ghost"}]}`,
			[]string{`device "PC" (id "d1")`, `"ghost"`}},
		{"primary user is a group", `{"groups": [{"id": "g1"}], "devices": [{"id": "d1", "primaryUser": "g1"}]}`,
			[]string{`device "d1"`, "not the id of a user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStatic([]byte(tc.doc))
			if runbooker.ErrorCode(err) != runbooker.EINVALID {
				t.Fatalf("error = %v, want EINVALID", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(runbooker.ErrorMessage(err), w) {
					t.Errorf("message %q lacks %q", runbooker.ErrorMessage(err), w)
				}
			}
		})
	}
}

// TestStaticFileReloads changes the file under a directory opened from it
// and moves an injected clock instead of sleeping.
func TestStaticFileReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "directory.json")
	write := func(doc string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	write(`{"users": [{"id": "u1", "userPrincipalName": "one@example.test"}]}`, start)
	now := start
	f, err := openStaticFile(path, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	d := Directory(f)
	ctx := context.Background()
	if _, err := d.Lookup(ctx, User, "one@example.test"); err != nil {
		t.Fatal(err)
	}

	write(`{"users": [{"id": "u2", "userPrincipalName": "two@example.test"}]}`, start.Add(time.Minute))
	now = now.Add(500 * time.Millisecond)
	if _, err := d.Lookup(ctx, User, "u1"); err != nil {
		t.Errorf("within the second the old version still answers: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := d.Lookup(ctx, User, "u2"); err != nil {
		t.Errorf("after a second the new file answers: %v", err)
	}
	if _, err := d.Lookup(ctx, User, "u1"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("the old user is gone after the reload: %v", err)
	}

	// A broken edit leaves the last good version in service.
	write(`{"users": [{"id": "u3"}, {"id": "u3"}]}`, start.Add(2*time.Minute))
	now = now.Add(2 * time.Second)
	if _, err := d.Lookup(ctx, User, "u2"); err != nil {
		t.Errorf("a broken file must not take the directory away: %v", err)
	}
	// Fixed again, with the same mtime as a reminder that size counts too.
	write(`{"users": [{"id": "u4", "userPrincipalName": "four@example.test"}]}`, start.Add(2*time.Minute))
	now = now.Add(2 * time.Second)
	if _, err := d.Lookup(ctx, User, "four@example.test"); err != nil {
		t.Errorf("the fixed file answers: %v", err)
	}

	if _, err := openStaticFile(filepath.Join(t.TempDir(), "missing.json"), nil); runbooker.ErrorCode(err) != runbooker.EINVALID ||
		!strings.Contains(runbooker.ErrorMessage(err), "missing.json") {
		t.Errorf("a missing file: %v, want EINVALID naming it", err)
	}
}

func FuzzParseStatic(f *testing.F) {
	f.Add([]byte(staticDoc))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"groups": [{"id": "a", "members": ["a"]}]}`))
	f.Add([]byte(`{"groups": [{"id": "a", "members": ["b"]}, {"id": "b", "members": ["a"]}], "users": [{"id": "u"}]}`))
	f.Add([]byte(`{"devices": [{"id": "d", "primaryUser": "u"}], "users": [{"id": "U"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseStatic(data)
		if err != nil {
			if runbooker.ErrorCode(err) != runbooker.EINVALID {
				t.Fatalf("a bad document gave %v, want EINVALID", err)
			}
			return
		}
		ctx := context.Background()
		for _, kind := range []Kind{User, Group, Device} {
			objs, err := s.Search(ctx, kind, "", MaxSearchLimit)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				got, err := s.Lookup(ctx, kind, o.ID)
				if err != nil || got.ID != o.ID {
					t.Fatalf("Lookup(%s, %q) = %v, %v", kind, o.ID, got, err)
				}
				groups, err := s.MemberOf(ctx, kind, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range groups {
					if _, err := s.Lookup(ctx, Group, g); err != nil {
						t.Fatalf("MemberOf(%s) names %q, which is no group: %v", o.ID, g, err)
					}
				}
			}
		}
	})
}

// BenchmarkStaticLookup looks up users, groups and memberships in a
// directory of 10,000 users in 1,000 nested groups; the time per lookup
// should not grow with the directory.
func BenchmarkStaticLookup(b *testing.B) {
	var doc strings.Builder
	doc.WriteString(`{"users": [`)
	for i := range 10000 {
		if i > 0 {
			doc.WriteString(",")
		}
		fmt.Fprintf(&doc, `{"id": "u%d", "userPrincipalName": "user%d@example.test", "displayName": "User %d"}`, i, i, i)
	}
	doc.WriteString(`], "groups": [`)
	for i := range 1000 {
		if i > 0 {
			doc.WriteString(",")
		}
		members := fmt.Sprintf(`"u%d", "u%d"`, i*10, i*10+1)
		if i > 0 {
			members += fmt.Sprintf(`, "g%d"`, (i-1)/2) // a tree of groups
		}
		fmt.Fprintf(&doc, `{"id": "g%d", "displayName": "Group %d", "members": [%s]}`, i, i, members)
	}
	doc.WriteString(`]}`)
	s, err := parseStatic([]byte(doc.String()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Lookup(ctx, User, fmt.Sprintf("user%d@example.test", i%10000)); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Lookup(ctx, Group, fmt.Sprintf("group %d", i%1000)); err != nil {
			b.Fatal(err)
		}
		if _, err := s.MemberOf(ctx, User, fmt.Sprintf("u%d", i%10000)); err != nil {
			b.Fatal(err)
		}
	}
}
