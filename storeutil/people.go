package storeutil

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

// The column lists of the people tables (users, sessions, audit_log), in
// the order the Scan functions below read them. Both engines also keep an
// upn_key column (runbooker.UPNKey) that is written but never read back.
const (
	UserColumns    = `tenant_id, id, upn, display_name, password_hash, disabled, created_at, updated_at`
	SessionColumns = `tenant_id, id_hash, user_id, upn, display_name, method, groups, created_at, last_seen_at, expires_at`
	AuditColumns   = `tenant_id, seq, time, actor, actor_kind, surface, action, object, detail, source, prev_hash, hash`
	// JobTargetColumns are the job columns of Job.Target, NULL for none.
	JobTargetColumns = `target_kind, target_id, target_name`
)

// CleanText makes s storable alike in both engines: PostgreSQL text holds
// neither NUL nor invalid UTF-8, so such bytes become U+FFFD everywhere.
// Values that are hashed (audit entries) go through it before hashing, so
// the stored entry is exactly the hashed one.
func CleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// PrepareUser checks a user about to be created and fills the ID and times
// the store decides; it returns the UPN key.
func PrepareUser(u *runbooker.User, now time.Time) (string, error) {
	u.UPN = CleanText(strings.TrimSpace(u.UPN))
	u.DisplayName = CleanText(u.DisplayName)
	if u.TenantID == "" || u.UPN == "" {
		return "", runbooker.Errorf(runbooker.EINVALID, "user: tenant and UPN are required")
	}
	if u.ID == "" {
		u.ID = runbooker.NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return runbooker.UPNKey(u.UPN), nil
}

// ScanUser reads a row of UserColumns.
func ScanUser(s Scanner) (*runbooker.User, error) {
	var u runbooker.User
	var created, updated int64
	if err := s.Scan(&u.TenantID, &u.ID, &u.UPN, &u.DisplayName, &u.PasswordHash, &u.Disabled, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = FromNanos(created), FromNanos(updated)
	return &u, nil
}

// PrepareSession checks a session about to be created, fills its times
// and returns its UPN key and its groups as stored ("" for none, else a
// JSON array).
func PrepareSession(s *runbooker.Session, now time.Time) (upnKey, groups string, err error) {
	if s.TenantID == "" || s.IDHash == "" || s.UPN == "" {
		return "", "", runbooker.Errorf(runbooker.EINVALID, "session: tenant, id hash and UPN are required")
	}
	switch s.Method {
	case runbooker.SignInLocal, runbooker.SignInLDAP, runbooker.SignInOIDC:
	default:
		return "", "", runbooker.Errorf(runbooker.EINVALID, "session: unknown sign-in method %q", s.Method)
	}
	if s.ExpiresAt.IsZero() {
		return "", "", runbooker.Errorf(runbooker.EINVALID, "session: an expiry is required")
	}
	s.UPN, s.DisplayName = CleanText(s.UPN), CleanText(s.DisplayName)
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	if len(s.Groups) > 0 {
		for i, g := range s.Groups {
			s.Groups[i] = CleanText(g)
		}
		b, err := json.Marshal(s.Groups)
		if err != nil {
			return "", "", err
		}
		groups = string(b)
	} else {
		s.Groups = nil
	}
	return runbooker.UPNKey(s.UPN), groups, nil
}

// ScanSession reads a row of SessionColumns.
func ScanSession(s Scanner) (*runbooker.Session, error) {
	var x runbooker.Session
	var groups string
	var created, seen, expires int64
	if err := s.Scan(&x.TenantID, &x.IDHash, &x.UserID, &x.UPN, &x.DisplayName, &x.Method, &groups,
		&created, &seen, &expires); err != nil {
		return nil, err
	}
	if groups != "" {
		if err := json.Unmarshal([]byte(groups), &x.Groups); err != nil {
			return nil, err
		}
	}
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt = FromNanos(created), FromNanos(seen), FromNanos(expires)
	return &x, nil
}

// PrepareAudit checks an entry about to be appended and puts it in the
// form that is hashed and stored: text made storable (CleanText), a zero
// Time set to now, Time in UTC truncated to runbooker.AuditTimeUnit,
// Detail compacted. Seq, PrevHash and Hash are the engine's to set, inside
// its atomic append.
func PrepareAudit(e *runbooker.AuditEntry, now time.Time) error {
	if e.TenantID == "" || e.Action == "" || e.Actor == "" {
		return runbooker.Errorf(runbooker.EINVALID, "audit entry: tenant, actor and action are required")
	}
	switch e.ActorKind {
	case runbooker.ActorPerson, runbooker.ActorCredential, runbooker.ActorWorker, runbooker.ActorSystem, runbooker.ActorAnonymous, runbooker.ActorWebhook:
	default:
		return runbooker.Errorf(runbooker.EINVALID, "audit entry: unknown actor kind %q", e.ActorKind)
	}
	if len(e.Detail) > 0 && (!json.Valid(e.Detail) || !utf8.Valid(e.Detail)) {
		return runbooker.Errorf(runbooker.EINVALID, "audit entry: detail is not JSON")
	}
	for _, p := range []*string{&e.Actor, &e.Surface, &e.Action, &e.Object, &e.Source} {
		*p = CleanText(*p)
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = e.Time.UTC().Truncate(runbooker.AuditTimeUnit)
	if e.Time.After(maxNanosTime) || e.Time.Before(minNanosTime) {
		return runbooker.Errorf(runbooker.EINVALID, "audit entry: time %s is out of range", e.Time.Format(time.RFC3339))
	}
	e.Detail = runbooker.CompactDetail(e.Detail)
	return nil
}

// ScanAudit reads a row of AuditColumns. An empty stored detail is nil.
func ScanAudit(s Scanner) (*runbooker.AuditEntry, error) {
	var e runbooker.AuditEntry
	var at int64
	var detail string
	if err := s.Scan(&e.TenantID, &e.Seq, &at, &e.Actor, &e.ActorKind, &e.Surface, &e.Action, &e.Object,
		&detail, &e.Source, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = FromNanos(at)
	if detail != "" {
		e.Detail = json.RawMessage(detail)
	}
	return &e, nil
}

// AuditLimit is the page size ListAudit uses for a requested limit.
func AuditLimit(n int) int {
	if n <= 0 {
		return runbooker.DefaultAuditLimit
	}
	return min(n, runbooker.MaxAuditLimit)
}

// AuditLockKey is a 64-bit key that names one tenant's audit chain, for
// engines that serialise appends with a lock keyed by a number (PostgreSQL
// advisory locks). Two tenants sharing a key merely take turns.
func AuditLockKey(tenantID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("runbooker-audit\x00"))
	h.Write([]byte(tenantID))
	return int64(h.Sum64())
}

// TargetArgs returns the values of JobTargetColumns for t: NULLs for nil.
func TargetArgs(t *runbooker.JobTarget) (kind, id, name *string) {
	if t == nil {
		return nil, nil, nil
	}
	k, i, n := CleanText(t.Kind), CleanText(t.ID), CleanText(t.Name)
	return &k, &i, &n
}

// JobTarget reads JobTargetColumns, scanned into *string: nil when the
// job has no target.
func JobTarget(kind, id, name *string) *runbooker.JobTarget {
	if kind == nil {
		return nil
	}
	t := &runbooker.JobTarget{Kind: *kind}
	if id != nil {
		t.ID = *id
	}
	if name != nil {
		t.Name = *name
	}
	return t
}

// Nanos is t in Unix nanoseconds, the form both engines store times in,
// clamped to what an int64 holds: a filter bound far in the future or past
// (year 2999) then still compares as such instead of wrapping around.
func Nanos(t time.Time) int64 {
	switch {
	case t.After(maxNanosTime):
		return math.MaxInt64
	case t.Before(minNanosTime):
		return math.MinInt64
	}
	return t.UnixNano()
}

var (
	maxNanosTime = time.Unix(0, math.MaxInt64)
	minNanosTime = time.Unix(0, math.MinInt64)
)
