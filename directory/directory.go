// Package directory answers who is who in a tenant: users, groups and
// devices, transitive group membership and a device's primary user. Every
// tenant has one provider: static (a JSON file or document), ldap (Active
// Directory or OpenLDAP) or msgraph (Microsoft Graph).
//
// Open makes a provider from a Config: a tenant's settings document, or
// the server's --directory flag read by ParseSpec. Secrets never travel in
// a Config; Open takes the one a provider needs separately, so that the
// settings can be shown and stored as they are.
//
// The static provider keeps its whole document in memory with an index per
// way of looking things up and every object's groups worked out when it is
// loaded; a file is read again when it changes. The ldap provider speaks to
// Active Directory with its defaults, or to any other server with filters
// and attribute names set, over a small pool of connections bound as a
// service account; it checks passwords with a bind of their own and is the
// one Authenticator. The msgraph provider reads Microsoft Entra ID with an
// app-only token. Cached puts a bounded, expiring memory of Lookup and
// MemberOf answers in front of any of them.
//
// Errors are runbooker errors: EINVALID for a bad configuration or
// request, ENOTFOUND for a missing object, EUNAUTHORIZED for a failed
// sign-in, EUNAVAILABLE when the provider cannot answer now. Their
// messages can be shown to a tenant's administrator; the underlying cause
// stays in the error chain for the log.
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
