package runbooker

import "time"

// DefaultTenant is the tenant every fresh install starts with.
const DefaultTenant = "default"

// Tenant is an isolated automation account. Every stored object belongs to
// exactly one tenant.
type Tenant struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
}
