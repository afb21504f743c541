package directory

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/directory/ldaptest"
)

// adSchema gives slapd the few Active Directory attributes and classes the
// defaults rely on: a binary objectGUID (matched byte for byte, as AD
// does), userPrincipalName, objectCategory (a plain string here, where AD
// has a DN it lets filters abbreviate to "person") and managedBy. With it
// the provider runs with its AD defaults unchanged.
const adSchema = `attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'objectGUID'
	EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.2 NAME 'userPrincipalName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.3 NAME 'objectCategory'
	EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.4 NAME 'managedBy' SUP distinguishedName SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'user' SUP inetOrgPerson STRUCTURAL
	MAY ( objectGUID $ userPrincipalName $ objectCategory ) )
objectclass ( 1.3.6.1.4.1.99999.2.2 NAME 'computer' SUP user STRUCTURAL MAY ( managedBy ) )
objectclass ( 1.3.6.1.4.1.99999.2.3 NAME 'group' SUP groupOfNames STRUCTURAL
	MAY ( objectGUID $ objectCategory $ displayName ) )
`

// GUIDs of the AD-shaped tree, as Windows shows them.
const (
	adAliceGUID  = "5d1c4a3e-1f2b-4c8d-9e0f-a1b2c3d4e5f6"
	adBobGUID    = "0a0b0c0d-0e0f-1011-1213-141516171819"
	adPCGUID     = "c0ffee00-1234-4abc-8def-000000000042"
	adStaffGUID  = "11111111-2222-3333-4444-555555555555"
	adAdminsGUID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

// adTree is a small domain. Computers are users too in AD's schema; only
// objectCategory tells them apart, which the default user filter relies on.
func adTree(t *testing.T) string {
	guid := func(s string) string {
		raw, ok := parseGUID(s)
		if !ok {
			t.Fatalf("bad test GUID %s", s)
		}
		return base64.StdEncoding.EncodeToString(raw)
	}
	return strings.NewReplacer(
		"{alice}", guid(adAliceGUID), "{bob}", guid(adBobGUID), "{pc}", guid(adPCGUID),
		"{staff}", guid(adStaffGUID), "{admins}", guid(adAdminsGUID),
	).Replace(ldaptest.Root + `
dn: CN=Alice Adams,dc=example,dc=test
objectClass: user
cn: Alice Adams
sn: Adams
displayName: Alice Adams
userPrincipalName: alice@corp.example
mail: alice@corp.example
objectCategory: person
objectGUID:: {alice}
userPassword: alice-pw

dn: CN=Bob Brown,dc=example,dc=test
objectClass: user
cn: Bob Brown
sn: Brown
userPrincipalName: bob@corp.example
objectCategory: person
objectGUID:: {bob}
userPassword: bob-pw

dn: CN=PC-0042,dc=example,dc=test
objectClass: computer
cn: PC-0042
sn: PC-0042
objectCategory: computer
objectGUID:: {pc}
managedBy: CN=Alice Adams,dc=example,dc=test
userPassword: machine-pw

dn: CN=Admins,dc=example,dc=test
objectClass: group
cn: Admins
objectCategory: group
objectGUID:: {admins}
member: CN=Alice Adams,dc=example,dc=test
member: CN=PC-0042,dc=example,dc=test

dn: CN=Staff,dc=example,dc=test
objectClass: group
cn: Staff
objectCategory: group
objectGUID:: {staff}
member: CN=Admins,dc=example,dc=test
member: CN=Bob Brown,dc=example,dc=test
`)
}

// TestLDAPActiveDirectoryDefaults runs the provider with nothing but URL,
// base, service account and secret configured: the AD filters and
// attributes, objectGUID as the id.
func TestLDAPActiveDirectoryDefaults(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Setup{LDIF: adTree(t), Schema: adSchema})
	d, err := Open(Config{Provider: ProviderLDAP, URL: s.URL, BaseDN: ldaptest.Base, BindDN: ldaptest.ReaderDN}, ldaptest.ReaderPassword)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	alice, err := d.Lookup(ctx, User, "ALICE@corp.example")
	if err != nil || alice.ID != adAliceGUID || alice.DisplayName != "Alice Adams" || alice.Mail != "alice@corp.example" {
		t.Fatalf("Lookup(alice) = %+v, %v; want her objectGUID as %s", alice, err, adAliceGUID)
	}
	if o, err := d.Lookup(ctx, User, strings.ToUpper("{"+adBobGUID+"}")); err != nil || o.UserPrincipalName != "bob@corp.example" || o.DisplayName != "Bob Brown" {
		t.Errorf("Lookup(bob) by GUID in braces = %+v, %v", o, err)
	}
	if _, err := d.Lookup(ctx, User, "PC-0042"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("a computer is no user (objectCategory): %v", err)
	}
	pc, err := d.Lookup(ctx, Device, "pc-0042")
	if err != nil || pc.ID != adPCGUID || pc.PrimaryUser != adAliceGUID {
		t.Errorf("Lookup(PC-0042) = %+v, %v; want managedBy resolved to Alice's GUID", pc, err)
	}
	if g, err := d.Lookup(ctx, Group, adAdminsGUID); err != nil || g.DisplayName != "Admins" {
		t.Errorf("Lookup(Admins) by GUID = %+v, %v; want the name from cn", g, err)
	}

	users, err := d.Search(ctx, User, "", 10)
	if err != nil || len(users) != 2 || users[0].ID != adAliceGUID || users[1].ID != adBobGUID {
		t.Errorf("Search(users) = %+v, %v; want Alice and Bob, no computer", users, err)
	}
	if found, err := d.Search(ctx, User, adBobGUID, 10); err != nil || len(found) != 1 || found[0].ID != adBobGUID {
		t.Errorf("Search by a whole GUID = %+v, %v", found, err)
	}

	for _, tc := range []struct {
		kind Kind
		id   string
		want []string
	}{
		{User, adAliceGUID, []string{adStaffGUID, adAdminsGUID}},
		{User, adBobGUID, []string{adStaffGUID}},
		{Device, adPCGUID, []string{adStaffGUID, adAdminsGUID}},
		{Group, adStaffGUID, []string{}},
	} {
		slices.Sort(tc.want)
		got, err := d.MemberOf(ctx, tc.kind, tc.id)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("MemberOf(%s %s) = %q, %v; want %q", tc.kind, tc.id, got, err, tc.want)
		}
	}
	if _, err := d.MemberOf(ctx, User, "alice@corp.example"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("MemberOf takes a GUID, a UPN gave %v", err)
	}

	auth, _ := AsAuthenticator(d)
	if o, err := auth.Authenticate(ctx, "alice@corp.example", "alice-pw"); err != nil || o.ID != adAliceGUID {
		t.Errorf("Authenticate(alice) = %+v, %v", o, err)
	}
	if _, err := auth.Authenticate(ctx, "PC-0042", "machine-pw"); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
		t.Errorf("a computer account signed in as a person: %v", err)
	}
}

// TestInChainFilter checks the one-search membership filter sent to
// Active Directory (slapd does not implement the matching rule).
func TestInChainFilter(t *testing.T) {
	d := &ldapDirectory{cfg: Config{GroupFilter: DefaultGroupFilter, Attributes: Attributes{}.withDefaults()}}
	got := d.inChainFilter(`CN=Smith\, Eve (Ops)*,OU=People,DC=corp`)
	want := `(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=CN=Smith\5c, Eve \28Ops\29\2a,OU=People,DC=corp))`
	if got != want {
		t.Errorf("inChainFilter =\n%s, want\n%s", got, want)
	}
}
