package runbooker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Kinds of audit actors.
const (
	ActorPerson     = "person"
	ActorCredential = "credential"
	ActorWorker     = "worker"
	ActorSystem     = "system"
	ActorAnonymous  = "anonymous"
	ActorWebhook    = "webhook" // a call of a webhook's secret URL
)

// AuditEntry is one line of a tenant's audit log: who did what, through
// which surface, to which object. The log is append-only and each entry
// is chained to the one before it by PrevHash, so an entry changed or
// removed afterwards in the database is found by VerifyAuditChain.
type AuditEntry struct {
	TenantID string `json:"tenantId"`
	// Seq numbers a tenant's entries 1, 2, 3… without gaps; the store
	// assigns it.
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Actor names who acted as people read it: "ceo@contoso.com",
	// "credential ci-bot", "worker w1", "system".
	Actor     string `json:"actor"`
	ActorKind string `json:"actorKind"` // ActorPerson, ActorCredential, …
	// Surface is where the action came in: external, api, cli, portal,
	// worker, sync or server.
	Surface string `json:"surface"`
	Action  string `json:"action"` // "job.start", "signin.failure", …
	Object  string `json:"object"` // runbook name, job id, setting key, …
	// Detail is action-specific JSON. It never holds a secret value.
	Detail json.RawMessage `json:"detail,omitempty"`
	Source string          `json:"source"` // the client's address
	// PrevHash is the Hash of the tenant's previous entry; "" for the
	// first entry (Seq 1), which has none.
	PrevHash string `json:"prevHash"`
	// Hash is ComputeHash(): hex SHA-256 over every other field.
	Hash string `json:"hash"`
}

// AuditTimeUnit is the precision audit times keep: PostgreSQL keeps
// microseconds, so hashing finer digits would break a chain that moved
// between engines or through a timestamp column.
const AuditTimeUnit = time.Microsecond

// auditHashVersion starts every hashed encoding, so that a later change of
// the encoding can be told apart.
const auditHashVersion = "runbooker-audit-v1"

// ComputeHash returns the hex SHA-256 of the entry's canonical encoding:
// a version tag, then TenantID, Seq (decimal), Time (UTC, truncated to
// AuditTimeUnit, RFC 3339 with nanoseconds), Actor, ActorKind, Surface,
// Action, Object, Detail (compacted JSON; "" when empty), Source and
// PrevHash, each written as its byte length in decimal, a colon, the bytes
// and a comma (a netstring), so no two different entries encode alike.
// Hash itself is not covered.
func (e *AuditEntry) ComputeHash() string {
	var b bytes.Buffer
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
		b.WriteByte(',')
	}
	field(auditHashVersion)
	field(e.TenantID)
	field(strconv.FormatInt(e.Seq, 10))
	field(e.Time.UTC().Truncate(AuditTimeUnit).Format(time.RFC3339Nano))
	field(e.Actor)
	field(e.ActorKind)
	field(e.Surface)
	field(e.Action)
	field(e.Object)
	field(string(CompactDetail(e.Detail)))
	field(e.Source)
	field(e.PrevHash)
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}

// CompactDetail returns detail without insignificant white space, the form
// that is hashed and stored; nil for an empty detail. Text that is not JSON
// is returned as it is (still hashed, so still protected).
func CompactDetail(detail json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(detail)) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, detail); err != nil {
		return detail
	}
	return b.Bytes()
}

// AuditChainError says where a chain is broken: the first entry that does
// not fit, and how.
type AuditChainError struct {
	TenantID string
	Seq      int64
	Problem  string
}

func (e *AuditChainError) Error() string {
	return fmt.Sprintf("audit chain of tenant %q broken at seq %d: %s", e.TenantID, e.Seq, e.Problem)
}

// VerifyAuditChain checks consecutive entries of one tenant: sequence
// numbers without gaps, each PrevHash the Hash of the entry before, each
// Hash the entry's ComputeHash. prev is the entry just before entries[0]
// (the last one of the previous page), or nil when entries start the log,
// which must then start at Seq 1 with an empty PrevHash. It returns an
// *AuditChainError naming the first entry that fails.
func VerifyAuditChain(prev *AuditEntry, entries []*AuditEntry) error {
	for _, e := range entries {
		bad := func(format string, args ...any) error {
			return &AuditChainError{TenantID: e.TenantID, Seq: e.Seq, Problem: fmt.Sprintf(format, args...)}
		}
		wantSeq, wantPrev := int64(1), ""
		if prev != nil {
			wantSeq, wantPrev = prev.Seq+1, prev.Hash
			if e.TenantID != prev.TenantID {
				return bad("entry of tenant %q follows one of tenant %q", e.TenantID, prev.TenantID)
			}
		}
		switch {
		case e.Seq != wantSeq:
			if prev == nil {
				return bad("the log starts at seq %d, not 1", e.Seq)
			}
			return bad("seq %d follows seq %d (entries missing or out of order)", e.Seq, prev.Seq)
		case e.PrevHash != wantPrev:
			return bad("prevHash %.12s… does not match the hash %.12s… of the entry before (an entry before it was changed or removed)", e.PrevHash, wantPrev)
		case e.Hash != e.ComputeHash():
			return bad("hash does not match the entry's content (the entry was changed)")
		}
		prev = e
	}
	return nil
}

// AuditFilter selects audit entries. Empty fields match everything.
type AuditFilter struct {
	AfterSeq int64 // entries with a greater Seq: the cursor of the next page
	Limit    int   // default 100, at most 1000
	Action   string
	Actor    string // exact
	Object   string // exact
	Since    time.Time
	Until    time.Time
}

// Audit list limits.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditStore persists the audit log. There is no update and no delete.
type AuditStore interface {
	// AppendAudit adds e to its tenant's log. The store assigns Seq and
	// PrevHash from the tenant's last entry and sets Hash, in one atomic
	// step, so concurrent appends (goroutines, servers sharing a database)
	// never fork the chain. A zero Time is now; Time is truncated to
	// AuditTimeUnit and Detail compacted, and both written back to e.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns the tenant's entries in ascending Seq. Action
	// matches as a prefix ("job." selects every job action); Since is
	// inclusive and Until exclusive.
	ListAudit(ctx context.Context, tenantID string, f AuditFilter) ([]*AuditEntry, error)
}
