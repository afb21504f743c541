package storeutil

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
)

// The column lists of the tables whose rows both engines read alike, in the
// order the Scan functions below read them. Each engine's schema has these
// columns under these names; its queries splice the list in.
const (
	RunbookColumns    = `tenant_id, name, language, version, scope, category, default_group, source_id, meta, created_at, updated_at, log_verbose`
	CredentialColumns = `id, tenant_id, name, role, secret_hash, created_at, user_upn`
	GroupColumns      = `tenant_id, name, token_hash, default_hybrid, run_as, max_runtime, capacity, powershell,
	suspend_after, created_at, memory_limit, max_processes, cpu_weight, token_expires_at, token_max_uses, token_uses`
	WorkerColumns = `id, tenant_id, group_name, name, secret_hash, version, os, arch, hostname, registered_at, last_seen_at, state, languages`
	AssetColumns  = `tenant_id, type, name, description, encrypted, key_id, value, updated_at`
)

// Scanner is what a row and a cursor over rows have in common, in
// database/sql (SQLite) and in pgx (PostgreSQL) alike.
type Scanner interface{ Scan(dest ...any) error }

// FromNanos reads a stored time. Both engines store times as integer unix
// nanoseconds, UTC, and the zero time as NULL.
func FromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// fromNullNanos reads a nullable stored time, scanned into a *int64 (which
// database/sql and pgx both set to nil for NULL).
func fromNullNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return FromNanos(*n)
}

// StoredRunbook is a runbook row plus its metadata exactly as stored, which
// PutRunbook compares to decide whether anything changed.
type StoredRunbook struct {
	Runbook *runbooker.Runbook
	Meta    string // the metadata JSON as stored
}

// Unchanged reports whether storing rb, with metadata JSON meta, would
// change nothing in the stored row (times aside).
func (old StoredRunbook) Unchanged(rb *runbooker.Runbook, meta string) bool {
	o := old.Runbook
	return o.Language == rb.Language && o.Version == rb.Version && o.Scope == rb.Scope &&
		o.Category == rb.Category && o.DefaultGroup == rb.DefaultGroup &&
		o.SourceID == rb.SourceID && o.LogVerbose == rb.LogVerbose && old.Meta == meta
}

// ScanRunbook reads a row of RunbookColumns.
func ScanRunbook(s Scanner) (StoredRunbook, error) {
	var rb runbooker.Runbook
	var lang, meta string
	var created, updated int64
	err := s.Scan(&rb.TenantID, &rb.Name, &lang, &rb.Version, &rb.Scope, &rb.Category, &rb.DefaultGroup,
		&rb.SourceID, &meta, &created, &updated, &rb.LogVerbose)
	if err != nil {
		return StoredRunbook{}, err
	}
	rb.Language = runbooker.Language(lang)
	rb.CreatedAt, rb.UpdatedAt = FromNanos(created), FromNanos(updated)
	if err := json.Unmarshal([]byte(meta), &rb.Meta); err != nil {
		return StoredRunbook{}, fmt.Errorf("runbook %q: stored metadata: %w", rb.Name, err)
	}
	return StoredRunbook{Runbook: &rb, Meta: meta}, nil
}

// ScanCredential reads a row of CredentialColumns.
func ScanCredential(s Scanner) (*runbooker.Credential, error) {
	var c runbooker.Credential
	var role string
	var created int64
	if err := s.Scan(&c.ID, &c.TenantID, &c.Name, &role, &c.SecretHash, &created, &c.User); err != nil {
		return nil, err
	}
	c.Role = runbooker.Role(role)
	c.CreatedAt = FromNanos(created)
	return &c, nil
}

// ScanGroup reads a row of GroupColumns.
func ScanGroup(s Scanner) (*runbooker.WorkerGroup, error) {
	var g runbooker.WorkerGroup
	var maxRuntime, suspendAfter, created int64
	var expires *int64
	err := s.Scan(&g.TenantID, &g.Name, &g.TokenHash, &g.DefaultHybrid, &g.RunAs, &maxRuntime, &g.Capacity,
		&g.PowerShell, &suspendAfter, &created, &g.MemoryLimit, &g.MaxProcesses, &g.CPUWeight,
		&expires, &g.TokenMaxUses, &g.TokenUses)
	if err != nil {
		return nil, err
	}
	g.MaxRuntime, g.SuspendAfter = time.Duration(maxRuntime), time.Duration(suspendAfter)
	g.CreatedAt, g.TokenExpiresAt = FromNanos(created), fromNullNanos(expires)
	return &g, nil
}

// TokenRefused is the ECONFLICT of UseGroupToken for a known token that
// registers no more: expired at now, or used up.
func TokenRefused(g *runbooker.WorkerGroup, now time.Time) error {
	if !g.TokenExpiresAt.IsZero() && !now.Before(g.TokenExpiresAt) {
		return runbooker.Errorf(runbooker.ECONFLICT, "the registration token of worker group %q expired at %s",
			g.Name, g.TokenExpiresAt.UTC().Format(time.RFC3339))
	}
	return runbooker.Errorf(runbooker.ECONFLICT, "the registration token of worker group %q has been used %d times, its limit",
		g.Name, g.TokenUses)
}

// ScanWorker reads a row of WorkerColumns.
func ScanWorker(s Scanner) (*runbooker.Worker, error) {
	var w runbooker.Worker
	var registered int64
	var seen *int64
	var state, langs string
	err := s.Scan(&w.ID, &w.TenantID, &w.Group, &w.Name, &w.SecretHash, &w.Version, &w.OS, &w.Arch,
		&w.Hostname, &registered, &seen, &state, &langs)
	if err != nil {
		return nil, err
	}
	w.State, w.Languages = runbooker.WorkerState(state), DecodeLanguages(langs)
	w.RegisteredAt, w.LastSeenAt = FromNanos(registered), fromNullNanos(seen)
	return &w, nil
}

// ScanAsset reads a row of AssetColumns. An empty stored value is a nil
// Value.
func ScanAsset(s Scanner) (*runbooker.Asset, error) {
	var a runbooker.Asset
	var typ string
	var value []byte
	var updated int64
	if err := s.Scan(&a.TenantID, &typ, &a.Name, &a.Description, &a.Encrypted, &a.KeyID, &value, &updated); err != nil {
		return nil, err
	}
	a.Type, a.UpdatedAt = runbooker.AssetType(typ), FromNanos(updated)
	if len(value) > 0 {
		a.Value = value
	}
	return &a, nil
}

// EncodeLanguages stores a worker's languages as one column: "" for nil
// (never said), "-" for none, else comma-separated.
func EncodeLanguages(ls []runbooker.Language) string {
	if ls == nil {
		return ""
	}
	if len(ls) == 0 {
		return "-"
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = string(l)
	}
	return strings.Join(parts, ",")
}

// DecodeLanguages reads what EncodeLanguages wrote.
func DecodeLanguages(s string) []runbooker.Language {
	switch s {
	case "":
		return nil
	case "-":
		return []runbooker.Language{}
	}
	var out []runbooker.Language
	for _, p := range strings.Split(s, ",") {
		out = append(out, runbooker.Language(p))
	}
	return out
}

// WebhookColumns are the columns ScanWebhook reads.
const WebhookColumns = `id, tenant_id, name, runbook_name, parameters, run_on, enabled, expires_at, created_at, token_hash`

// ScanWebhook reads a row of WebhookColumns.
func ScanWebhook(s Scanner) (*runbooker.Webhook, error) {
	var w runbooker.Webhook
	var params string
	var enabled, expires, created int64
	if err := s.Scan(&w.ID, &w.TenantID, &w.Name, &w.RunbookName, &params, &w.RunOn, &enabled, &expires, &created, &w.TokenHash); err != nil {
		return nil, err
	}
	if params != "" {
		if err := json.Unmarshal([]byte(params), &w.Parameters); err != nil {
			return nil, fmt.Errorf("webhook %s: parameters: %w", w.ID, err)
		}
	}
	w.Enabled = enabled != 0
	w.ExpiresAt, w.CreatedAt = FromNanos(expires), FromNanos(created)
	return &w, nil
}

// WebhookParams encodes a webhook's fixed parameters as stored.
func WebhookParams(w *runbooker.Webhook) (string, error) {
	if len(w.Parameters) == 0 {
		return "", nil
	}
	b, err := json.Marshal(w.Parameters)
	return string(b), err
}
