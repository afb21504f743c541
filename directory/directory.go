// Package directory answers who is who in a tenant: users, groups and
// devices, transitive group membership and a device's primary user. Every
// tenant has one provider: static (a JSON file or document), ldap (Active
// Directory or OpenLDAP) or msgraph (Microsoft Graph).
package directory

import "context"

// Kind is the kind of a directory object.
type Kind string

// Kinds of directory objects.
const (
	User   Kind = "user"
	Group  Kind = "group"
	Device Kind = "device"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == User || k == Group || k == Device }

// Object is a user, group or device as a provider reports it.
type Object struct {
	Kind              Kind   `json:"kind"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"` // users
	Mail              string `json:"mail,omitempty"`              // users
	PrimaryUser       string `json:"primaryUser,omitempty"`       // devices: the id of the primary user
}

// Directory is what every provider offers. Lookups of an unknown object
// return a runbooker.Error with code ENOTFOUND; an unreachable provider
// returns EUNAVAILABLE.
type Directory interface {
	// Lookup finds one object of kind by its id or, for users, by
	// userPrincipalName; for groups and devices, by displayName. Names
	// compare case-insensitively.
	Lookup(ctx context.Context, kind Kind, key string) (*Object, error)
	// Search returns up to limit objects of kind whose id, displayName,
	// userPrincipalName or mail contains query (case-insensitively), in a
	// stable order. An empty query lists the first limit objects.
	Search(ctx context.Context, kind Kind, query string, limit int) ([]Object, error)
	// MemberOf returns the ids of every group the object (of kind, by id)
	// belongs to, directly or through other groups, without duplicates,
	// sorted. A group is not listed as a member of itself, even when
	// groups contain each other in a cycle.
	MemberOf(ctx context.Context, kind Kind, id string) ([]string, error)
}

// Authenticator checks a person's password against the directory itself
// (an LDAP bind). Providers that cannot do that do not implement it.
type Authenticator interface {
	// Authenticate returns the user whose login name (userPrincipalName,
	// or what the provider maps to it) and password match. A wrong name or
	// password is EUNAUTHORIZED, with the same message for both.
	Authenticate(ctx context.Context, login, password string) (*Object, error)
}
