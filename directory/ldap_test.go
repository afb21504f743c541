package directory

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/directory/ldaptest"
)

// ldapTree is the test organisation. Groups nest (staff > it > admins),
// admins and ops contain each other, Eve's DN holds characters that need
// escaping in filters, LAPTOP-01 belongs to Alice, ORPHAN's owner is a
// group (not a user), and Mallory's uid is made of filter syntax.
const ldapTree = ldaptest.Root + `
dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: alice
cn: Alice Adams
sn: Adams
displayName: Alice Adams
mail: alice@example.test
userPassword: alice-pw

dn: uid=bob,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: bob
cn: Bob Brown
sn: Brown
mail: bob@example.test
userPassword: bob-pw

dn: uid=carol,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: carol
cn: Carol Clark
sn: Clark
displayName: Carol Clark
userPassword: carol-pw

dn: cn=Smith\, Eve (Ops)\5C,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: eve
cn: Smith, Eve (Ops)\
sn: Smith
displayName: Eve Smith
userPassword: eve-pw

dn: uid=*)(uid=*,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: *)(uid=*
cn: Mallory
sn: Mallory
displayName: Mallory
userPassword: mallory-pw

dn: uid=nopw,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: nopw
cn: No Password
sn: Password

dn: ou=groups,dc=example,dc=test
objectClass: organizationalUnit
ou: groups

dn: cn=staff,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: staff
member: cn=it,ou=groups,dc=example,dc=test
member: uid=carol,ou=people,dc=example,dc=test

dn: cn=it,ou=groups,dc=example,dc=test
objectClass: groupOfNames
objectClass: extensibleObject
cn: it
displayName: IT Department
member: cn=admins,ou=groups,dc=example,dc=test
member: cn=LAPTOP-01,ou=devices,dc=example,dc=test

dn: cn=admins,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,dc=example,dc=test
member: cn=ops,ou=groups,dc=example,dc=test

dn: cn=ops,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: ops
member: cn=admins,ou=groups,dc=example,dc=test
member: uid=bob,ou=people,dc=example,dc=test
member: cn=Smith\, Eve (Ops)\5C,ou=people,dc=example,dc=test

dn: ou=devices,dc=example,dc=test
objectClass: organizationalUnit
ou: devices

dn: cn=LAPTOP-01,ou=devices,dc=example,dc=test
objectClass: device
cn: LAPTOP-01
serialNumber: SN-0001
owner: uid=alice,ou=people,dc=example,dc=test

dn: cn=KIOSK,ou=devices,dc=example,dc=test
objectClass: device
cn: KIOSK

dn: cn=ORPHAN,ou=devices,dc=example,dc=test
objectClass: device
cn: ORPHAN
owner: cn=staff,ou=groups,dc=example,dc=test
`

// openLDAPConfig maps the standard OpenLDAP schemas onto Objects.
func openLDAPConfig(url string) Config {
	return Config{
		Provider:     ProviderLDAP,
		URL:          url,
		BaseDN:       ldaptest.Base,
		BindDN:       ldaptest.ReaderDN,
		UserFilter:   "(objectClass=inetOrgPerson)",
		GroupFilter:  "(objectClass=groupOfNames)",
		DeviceFilter: "(objectClass=device)",
		Attributes:   Attributes{ID: "entryUUID", UserPrincipalName: "uid", PrimaryUser: "owner"},
	}
}

// openTestLDAP opens the LDAP provider on s through Open, as the server
// does.
func openTestLDAP(t *testing.T, s *ldaptest.Server) (Directory, Authenticator) {
	t.Helper()
	d, err := Open(openLDAPConfig(s.URL), ldaptest.ReaderPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.(*ldapDirectory).Close() })
	a, ok := AsAuthenticator(d)
	if !ok {
		t.Fatal("the LDAP provider is no Authenticator")
	}
	return d, a
}

func TestLDAP(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Setup{LDIF: ldapTree})
	d, auth := openTestLDAP(t, s)
	ctx := context.Background()

	lookup := func(kind Kind, key string) *Object {
		t.Helper()
		o, err := d.Lookup(ctx, kind, key)
		if err != nil {
			t.Fatalf("Lookup(%s, %q): %v", kind, key, err)
		}
		if o.Kind != kind || len(o.ID) != 36 {
			t.Fatalf("Lookup(%s, %q) = %+v: want that kind and an entryUUID", kind, key, o)
		}
		return o
	}
	alice := lookup(User, "ALICE")
	bob := lookup(User, "bob")
	eve := lookup(User, "eve")
	staff, it, admins, ops := lookup(Group, "staff"), lookup(Group, "IT Department"), lookup(Group, "Admins"), lookup(Group, "ops")
	laptop := lookup(Device, "laptop-01")

	t.Run("lookup", func(t *testing.T) {
		if alice.UserPrincipalName != "alice" || alice.DisplayName != "Alice Adams" || alice.Mail != "alice@example.test" {
			t.Errorf("alice = %+v", alice)
		}
		if bob.DisplayName != "Bob Brown" {
			t.Errorf("without displayName the name comes from cn: %+v", bob)
		}
		if it.DisplayName != "IT Department" {
			t.Errorf("it = %+v", it)
		}
		if it2 := lookup(Group, "it"); it2.ID != it.ID {
			t.Errorf("a group is found by cn as well: %+v", it2)
		}
		if byID := lookup(User, strings.ToUpper(alice.ID)); byID.UserPrincipalName != "alice" {
			t.Errorf("Lookup by id = %+v", byID)
		}
		if byID := lookup(Group, admins.ID); byID.DisplayName != "admins" {
			t.Errorf("Lookup of a group by id = %+v", byID)
		}
		for _, tc := range []struct {
			kind Kind
			key  string
		}{{User, "nobody"}, {User, "Alice Adams"}, {Group, "alice"}, {Device, alice.ID}, {User, admins.ID}} {
			if _, err := d.Lookup(ctx, tc.kind, tc.key); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
				t.Errorf("Lookup(%s, %q): %v, want ENOTFOUND", tc.kind, tc.key, err)
			}
		}
		if _, err := d.Lookup(ctx, Group, ""); runbooker.ErrorCode(err) != runbooker.EINVALID {
			t.Errorf("Lookup with an empty key: %v, want EINVALID", err)
		}
	})

	t.Run("device primary user", func(t *testing.T) {
		if laptop.PrimaryUser != alice.ID {
			t.Errorf("LAPTOP-01's primary user = %q, want Alice's id %q", laptop.PrimaryUser, alice.ID)
		}
		if o := lookup(Device, "ORPHAN"); o.PrimaryUser != "" {
			t.Errorf("an owner that is no user gave primary user %q", o.PrimaryUser)
		}
		if o := lookup(Device, "kiosk"); o.PrimaryUser != "" {
			t.Errorf("KIOSK has no owner but primary user %q", o.PrimaryUser)
		}
		devices, err := d.Search(ctx, Device, "LAP", 10)
		if err != nil || len(devices) != 1 || devices[0].PrimaryUser != alice.ID {
			t.Errorf("Search fills in the primary user as well: %+v, %v", devices, err)
		}
	})

	t.Run("search", func(t *testing.T) {
		names := func(kind Kind, q string, limit int) []string {
			t.Helper()
			objs, err := d.Search(ctx, kind, q, limit)
			if err != nil {
				t.Fatalf("Search(%s, %q): %v", kind, q, err)
			}
			var out []string
			for _, o := range objs {
				out = append(out, o.DisplayName)
			}
			return out
		}
		for _, tc := range []struct {
			kind  Kind
			q     string
			limit int
			want  []string
		}{
			{User, "", 100, []string{"Alice Adams", "Bob Brown", "Carol Clark", "Eve Smith", "Mallory", "No Password"}},
			{User, "BROWN", 10, []string{"Bob Brown"}},
			{User, "example.test", 10, []string{"Alice Adams", "Bob Brown"}}, // mail
			{User, "car", 10, []string{"Carol Clark"}},                       // uid and name
			{User, alice.ID, 10, []string{"Alice Adams"}},                    // a whole id
			{Group, "", 10, []string{"admins", "IT Department", "ops", "staff"}},
			{Group, "department", 10, []string{"IT Department"}},
			{Device, "", 10, []string{"KIOSK", "LAPTOP-01", "ORPHAN"}},
		} {
			if got := names(tc.kind, tc.q, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("Search(%s, %q) = %q, want %q", tc.kind, tc.q, got, tc.want)
			}
		}
		if got := names(User, "", 2); len(got) != 2 {
			t.Errorf("limit 2 gave %q", got)
		}
	})

	t.Run("nested membership", func(t *testing.T) {
		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
		for _, tc := range []struct {
			name string
			kind Kind
			id   string
			want []string
		}{
			{"alice (admins, through the ops cycle)", User, alice.ID, sorted(admins.ID, ops.ID, it.ID, staff.ID)},
			{"bob (ops)", User, bob.ID, sorted(admins.ID, ops.ID, it.ID, staff.ID)},
			{"eve (a DN that needs escaping)", User, eve.ID, sorted(admins.ID, ops.ID, it.ID, staff.ID)},
			{"carol (staff only)", User, lookup(User, "carol").ID, []string{staff.ID}},
			{"a device", Device, laptop.ID, sorted(it.ID, staff.ID)},
			{"a group in a cycle (never its own member)", Group, admins.ID, sorted(ops.ID, it.ID, staff.ID)},
			{"the top group", Group, staff.ID, []string{}},
		} {
			got, err := d.MemberOf(ctx, tc.kind, tc.id)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got == nil || !slices.Equal(got, tc.want) {
				t.Errorf("%s: MemberOf = %q, want %q", tc.name, got, tc.want)
			}
		}
		if _, err := d.MemberOf(ctx, User, "not-a-uuid"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			t.Errorf("MemberOf of an unknown id: %v, want ENOTFOUND", err)
		}
		if _, err := d.MemberOf(ctx, Group, alice.ID); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			t.Errorf("MemberOf of a user's id as a group: %v, want ENOTFOUND", err)
		}
	})

	t.Run("authenticate", func(t *testing.T) {
		o, err := auth.Authenticate(ctx, "alice", "alice-pw")
		if err != nil || o.ID != alice.ID || o.DisplayName != "Alice Adams" {
			t.Fatalf("Authenticate(alice) = %+v, %v", o, err)
		}
		if o, err := auth.Authenticate(ctx, "eve", "eve-pw"); err != nil || o.ID != eve.ID {
			t.Errorf("Authenticate(eve), whose DN needs escaping = %+v, %v", o, err)
		}
		for _, tc := range []struct{ name, login, password string }{
			{"wrong password", "alice", "bob-pw"},
			{"unknown user", "nobody", "alice-pw"},
			{"empty password", "alice", ""},
			{"empty password of a user without one", "nopw", ""},
			{"a user without a password", "nopw", "anything"},
			{"empty login", "", "alice-pw"},
			{"wildcard login", "*", "alice-pw"},
			{"another's password through a wildcard", "a*", "alice-pw"},
		} {
			o, err := auth.Authenticate(ctx, tc.login, tc.password)
			if runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED || runbooker.ErrorMessage(err) != "invalid user name or password" {
				t.Errorf("%s: Authenticate(%q, %q) = %+v, %v; want EUNAUTHORIZED, invalid user name or password", tc.name, tc.login, tc.password, o, err)
			}
		}
	})

	t.Run("filter injection", func(t *testing.T) {
		// Mallory's uid is literally "*)(uid=*". Escaped, it finds her and
		// only her; unescaped, it would match every user.
		o, err := d.Lookup(ctx, User, "*)(uid=*")
		if err != nil || o.DisplayName != "Mallory" {
			t.Errorf("Lookup of the literal uid = %+v, %v; want Mallory", o, err)
		}
		for _, key := range []string{"*", "a*", "*)(objectClass=*", "alice)(|(uid=*"} {
			if o, err := d.Lookup(ctx, User, key); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
				t.Errorf("Lookup(%q) = %+v, %v; want ENOTFOUND", key, o, err)
			}
		}
		for _, q := range []string{"*)(uid=*", "*"} {
			got, err := d.Search(ctx, User, q, 100)
			if err != nil || len(got) != 1 || got[0].DisplayName != "Mallory" {
				t.Errorf("Search(%q) = %+v, %v; want only Mallory, whose uid contains it", q, got, err)
			}
		}
		if o, err := auth.Authenticate(ctx, "*)(uid=*", "alice-pw"); err == nil {
			t.Errorf("Authenticate with a filter for a login and Alice's password signed in as %+v", o)
		}
		if o, err := auth.Authenticate(ctx, "*)(uid=*", "mallory-pw"); err != nil || o.DisplayName != "Mallory" {
			t.Errorf("Mallory signs in with her own odd name: %+v, %v", o, err)
		}
	})

	t.Run("cached keeps the authenticator", func(t *testing.T) {
		c := Cached(d, time.Minute, nil)
		a, ok := AsAuthenticator(c)
		if !ok {
			t.Fatal("Cached hid the Authenticator")
		}
		if o, err := a.Authenticate(ctx, "bob", "bob-pw"); err != nil || o.ID != bob.ID {
			t.Errorf("Authenticate through the cache = %+v, %v", o, err)
		}
		if _, err := a.Authenticate(ctx, "bob", "wrong"); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
			t.Errorf("a wrong password through the cache: %v", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.MemberOf(ctx, User, alice.ID); err != nil {
					errs <- err
				}
				if _, err := d.Lookup(ctx, Device, "LAPTOP-01"); err != nil {
					errs <- err
				}
				if _, err := auth.Authenticate(ctx, "carol", "carol-pw"+strconv.Itoa(i%2)); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
