package runbooker

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// Role is what an API credential may do.
type Role string

// Roles of API credentials.
const (
	RoleAdmin    Role = "admin"    // management API and external API
	RoleOperator Role = "operator" // external API: run runbooks and read jobs
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleOperator }

// Credential is an API credential bound to one tenant. Only the SHA-256 hash of
// its secret is stored; the secret itself is shown once, at creation.
type Credential struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"tenantId"`
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	SecretHash string    `json:"-"`
	CreatedAt  time.Time `json:"createdAt"`
	// User is the UPN of the directory user the credential acts for, ""
	// when it is bound to no one. A bound credential has that person's
	// rights and groups rather than those of its role.
	User string `json:"user,omitempty"`
}

// NewSecret returns a random 256-bit secret, URL-safe base64 without padding.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("runbooker: crypto/rand failed: " + err.Error()) // the OS is broken
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a random 128-bit identifier as 32 hex characters.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("runbooker: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// HashSecret returns the hex SHA-256 of a secret, the form in which secrets
// (API credentials, registration tokens, worker credentials) are stored.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches compares secret against a stored hash in constant time.
func SecretMatches(secret, hash string) bool {
	got := HashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(hash))) == 1
}

// CheckCredentialInput checks what a new credential is made of: a name, a
// known role, and a binding to a person only for operators (a bound
// credential's rights are the person's, so an admin role would mean nothing).
func CheckCredentialInput(name string, role Role, user string) error {
	switch {
	case strings.TrimSpace(name) == "" || len(name) > 200 || strings.ContainsRune(name, 0):
		return Errorf(EINVALID, "name: a name of 1 to 200 characters is required")
	case !role.Valid():
		return Errorf(EINVALID, "role must be admin or operator, not %q", role)
	case user != "" && role == RoleAdmin:
		return Errorf(EINVALID, "user: a credential bound to a person has that person's rights; bind operator credentials only")
	case len(user) > 256 || strings.ContainsAny(user, "\x00/"):
		return Errorf(EINVALID, "user: %q is not a user principal name", user)
	}
	return nil
}
