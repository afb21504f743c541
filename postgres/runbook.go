package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// PutRunbook implements runbooker.RunbookStore. The content row is written
// once per (tenant, hash) and never deleted; the runbook row is created or,
// when any stored field differs, updated. The runbook row is locked while
// compared, so concurrent puts of one name are applied one after the other.
// rb.CreatedAt and rb.UpdatedAt are set to the stored values.
func (db *DB) PutRunbook(ctx context.Context, rb *runbooker.Runbook, content []byte) (runbooker.PutRunbookResult, error) {
	var res runbooker.PutRunbookResult
	if rb.TenantID == "" || rb.Name == "" {
		return res, runbooker.Errorf(runbooker.EINVALID, "runbook: tenant and name are required")
	}
	if want := runbooker.ContentHash(content); rb.Version != want {
		return res, runbooker.Errorf(runbooker.EINVALID, "runbook %q: version %q is not the content hash %q", rb.Name, rb.Version, want)
	}
	metaJSON, err := json.Marshal(rb.Meta)
	if err != nil {
		return res, runbooker.Errorf(runbooker.EINVALID, "runbook %q: metadata: %v", rb.Name, err)
	}
	meta := cleanText(string(metaJSON))
	if content == nil {
		content = []byte{}
	}
	now := db.now().UTC()
	object := fmt.Sprintf("runbook %q", rb.Name)
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		res = runbooker.PutRunbookResult{}
		if _, err := tx.Exec(ctx, `INSERT INTO runbook_contents (tenant_id, version, content, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, version) DO NOTHING`,
			rb.TenantID, rb.Version, content, nanos(now)); err != nil {
			return err
		}
		// Insert-or-nothing first, so that the row exists to be locked.
		tag, err := tx.Exec(ctx, `INSERT INTO runbooks (`+storeutil.RunbookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
			ON CONFLICT (tenant_id, name) DO NOTHING`,
			rb.TenantID, rb.Name, string(rb.Language), rb.Version, rb.Scope, rb.Category,
			rb.DefaultGroup, rb.SourceID, meta, nanos(now), rb.LogVerbose)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			res = runbooker.PutRunbookResult{Created: true, Changed: true}
			rb.CreatedAt, rb.UpdatedAt = now, now
			return nil
		}
		old, err := storeutil.ScanRunbook(tx.QueryRow(ctx, `SELECT `+storeutil.RunbookColumns+` FROM runbooks
			WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, rb.TenantID, rb.Name))
		if err != nil {
			return err
		}
		rb.CreatedAt = old.Runbook.CreatedAt
		if old.Unchanged(rb, meta) {
			rb.UpdatedAt = old.Runbook.UpdatedAt
			return nil
		}
		res.Changed = true
		rb.UpdatedAt = now
		_, err = tx.Exec(ctx, `UPDATE runbooks SET language = $1, version = $2, scope = $3, category = $4,
			default_group = $5, source_id = $6, meta = $7, updated_at = $8, log_verbose = $11 WHERE tenant_id = $9 AND name = $10`,
			string(rb.Language), rb.Version, rb.Scope, rb.Category, rb.DefaultGroup, rb.SourceID, meta,
			nanos(now), rb.TenantID, rb.Name, rb.LogVerbose)
		return err
	})
	return res, storeErr(err, object)
}

// Runbook implements runbooker.RunbookStore.
func (db *DB) Runbook(ctx context.Context, tenantID, name string) (*runbooker.Runbook, error) {
	r, err := storeutil.ScanRunbook(db.pool.QueryRow(ctx, `SELECT `+storeutil.RunbookColumns+` FROM runbooks
		WHERE tenant_id = $1 AND name = $2`, tenantID, name))
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("runbook %q", name))
	}
	return r.Runbook, nil
}

// ListRunbooks implements runbooker.RunbookStore, ordered by name.
func (db *DB) ListRunbooks(ctx context.Context, tenantID string, f runbooker.RunbookFilter) ([]*runbooker.Runbook, error) {
	q := `SELECT ` + storeutil.RunbookColumns + ` FROM runbooks WHERE tenant_id = $1`
	args := []any{tenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Scope != "" {
		q += ` AND scope = ` + arg(f.Scope)
	}
	if f.Category != "" {
		q += ` AND category = ` + arg(f.Category)
	}
	if f.SourceID != "" {
		q += ` AND source_id = ` + arg(f.SourceID)
	}
	if f.Prefix != "" {
		q += ` AND left(name, ` + arg(len([]rune(f.Prefix))) + `) = ` + arg(f.Prefix)
	}
	if f.Search != "" {
		// strpos, not LIKE: % and _ in the search text are literal. Names
		// are ASCII by grammar, so lower() agrees with SQLite's.
		q += ` AND strpos(lower(name), ` + arg(strings.ToLower(f.Search)) + `) > 0`
	}
	rows, err := db.pool.Query(ctx, q+` ORDER BY name COLLATE "C"`, args...)
	if err != nil {
		return nil, storeErr(err, "runbooks")
	}
	defer rows.Close()
	var out []*runbooker.Runbook
	for rows.Next() {
		r, err := storeutil.ScanRunbook(rows)
		if err != nil {
			return nil, storeErr(err, "runbooks")
		}
		out = append(out, r.Runbook)
	}
	return out, storeErr(rows.Err(), "runbooks")
}

// DeleteRunbook implements runbooker.RunbookStore. The runbook's content
// versions stay: jobs that ran them still show their source.
func (db *DB) DeleteRunbook(ctx context.Context, tenantID, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM runbooks WHERE tenant_id = $1 AND name = $2`, tenantID, name)
	return affected(tag.RowsAffected(), err, fmt.Sprintf("runbook %q", name))
}

// RunbookContent implements runbooker.RunbookStore.
func (db *DB) RunbookContent(ctx context.Context, tenantID, version string) ([]byte, error) {
	var b []byte
	err := db.pool.QueryRow(ctx, `SELECT content FROM runbook_contents WHERE tenant_id = $1 AND version = $2`,
		tenantID, version).Scan(&b)
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("runbook version %q", version))
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}
