// Package access decides what a caller may do: the portal rights of the
// roles assigned to them (RealmJoin's names) and the tenant's runbook
// permissions JSON (enabled and disabled patterns, roles, target entity
// groups, scheduling patterns). Every surface — external API, management
// API, CLI, portal — asks Decide; nothing else grants or denies.
package access

// Right is a portal right, as RealmJoin names it.
type Right string

// The rights. CanRunRunbooks implies CanSeeRunbooks; Admin implies all.
const (
	CanSeeRunbooks              Right = "CanSeeRunbooks"
	CanRunRunbooks              Right = "CanRunRunbooks"
	CanReadRunbookTable         Right = "CanReadRunbookTable"
	CanReadRunbookDetails       Right = "CanReadRunbookDetails"
	CanSyncRunbooksWithUpstream Right = "CanSyncRunbooksWithUpstream"
	CanEditRunbookSchedules     Right = "CanEditRunbookSchedules"
	Admin                       Right = "Admin"
)

// Action is what a caller asks to do with one runbook.
type Action string

// Actions judged against the runbook permissions.
const (
	See      Action = "see"      // list it, read its form
	Run      Action = "run"      // start a job
	Schedule Action = "schedule" // create or change a schedule of it
)

// GroupRef names a directory group: its id and, for reasons, its name.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"` // set for the groups reasons may name
}

// Caller is who asks.
type Caller struct {
	// Name is how reasons and the audit log name the caller
	// ("ceo@contoso.com", "credential ci-bot").
	Name string
	// Person is true for a signed-in person and for a credential bound to
	// one; false for an unbound API credential, which is judged only by its
	// rights and the enabled/disabled patterns (it is in no group).
	Person bool
	// Rights are the union of the rights of every role assigned to the
	// caller or to one of their groups (see Roles.RightsOf).
	Rights map[Right]bool
	// Groups are the ids of every directory group the caller belongs to,
	// transitively.
	Groups []string
}

// Target is the directory object a job acts on. Groups are the groups it is
// judged by: for a user, the user's transitive groups; for a device, its
// primary user's (its own when it has none); for a group, the group itself
// and every group it belongs to.
type Target struct {
	Kind   string     `json:"kind"` // user, device or group
	ID     string     `json:"id"`
	Name   string     `json:"name"` // display name or UPN, for reasons
	Groups []GroupRef `json:"groups"`
}

// Decision is Decide's answer. Reason says why in one sentence a support
// person understands; it is set for allows too.
type Decision struct {
	Allow  bool   `json:"allow"`
	Reason string `json:"reason"`
}
