package runbooker

import (
	"context"
	"time"
)

// Sign-in methods of a Session.
const (
	SignInLocal = "local" // a User's password
	SignInLDAP  = "ldap"  // a bind against the tenant's directory
	SignInOIDC  = "oidc"  // an OpenID Connect provider
)

// Session is a server-side sign-in session. The browser holds a random
// token; only its HashSecret is stored, so a copy of the database opens no
// session.
type Session struct {
	TenantID    string `json:"tenantId"`
	IDHash      string `json:"-"`
	UserID      string `json:"userId"`
	UPN         string `json:"upn"`
	DisplayName string `json:"displayName"`
	Method      string `json:"method"`
	// Groups are the groups the sign-in itself named (an OIDC groups
	// claim); nil when it named none.
	Groups     []string  `json:"groups,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	// ExpiresAt is the absolute end of the session, however active: it is
	// no longer valid once now reaches it.
	ExpiresAt time.Time `json:"expiresAt"`
}

// Expired reports whether the session is past its absolute limit at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// SessionStore persists sign-in sessions.
type SessionStore interface {
	// CreateSession stores s; ECONFLICT when its IDHash is taken. A zero
	// CreatedAt is now, a zero LastSeenAt is CreatedAt.
	CreateSession(ctx context.Context, s *Session) error
	// Session looks a session up by the hash of its token, in any tenant:
	// authentication starts from the token alone. It returns expired
	// sessions too; the caller judges them (Expired, LastSeenAt).
	Session(ctx context.Context, idHash string) (*Session, error)
	// TouchSession records activity at now.
	TouchSession(ctx context.Context, idHash string, now time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions signs a person out everywhere: it deletes every
	// session of the tenant's UPN (without regard to case) and returns how
	// many there were.
	DeleteUserSessions(ctx context.Context, tenantID, upn string) (int, error)
	// PurgeSessions deletes sessions that expired (ExpiresAt at or before
	// now) or went idle (LastSeenAt strictly before idleBefore; a zero
	// idleBefore purges none for idleness) and returns how many.
	PurgeSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
}
