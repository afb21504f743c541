package runbooker

import (
	"context"
	"strings"
	"time"
)

// User is a local sign-in account of one tenant: a person who signs in to
// the portal with a password Runbooker keeps (as an argon2id hash, see
// package password) rather than through LDAP or OIDC.
type User struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
	// UPN is the sign-in name, unique per tenant without regard to case;
	// it is kept as it was first written.
	UPN          string    `json:"upn"`
	DisplayName  string    `json:"displayName"`
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// UPNKey is the form in which UPNs are compared: two UPNs name the same
// person when their keys are equal. Stores index this key, so both engines
// fold case the same way (Go's Unicode lower-casing, not the database's).
func UPNKey(upn string) string { return strings.ToLower(strings.TrimSpace(upn)) }

// UserStore persists local sign-in accounts. UPNs are looked up without
// regard to case.
type UserStore interface {
	// CreateUser stores a new user; ECONFLICT when the tenant already has a
	// user of that UPN (in any case). An empty ID gets NewID(), zero times
	// the current time; both are written back to u.
	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, tenantID, upn string) (*User, error)
	// ListUsers returns the tenant's users ordered by UPN key.
	ListUsers(ctx context.Context, tenantID string) ([]*User, error)
	// UpdateUser changes the display name, password hash and disabled flag
	// of the user named by u.TenantID and u.UPN, sets UpdatedAt (to now when
	// zero) and writes the stored ID, UPN and CreatedAt back to u.
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, tenantID, upn string) error
}
