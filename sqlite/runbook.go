package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// PutRunbook implements runbooker.RunbookStore. The content row is written
// once per (tenant, hash) and never deleted; the runbook row is created or,
// when any stored field differs, updated. rb.CreatedAt and rb.UpdatedAt are
// set to the stored values.
func (db *DB) PutRunbook(ctx context.Context, rb *runbooker.Runbook, content []byte) (runbooker.PutRunbookResult, error) {
	var res runbooker.PutRunbookResult
	if rb.TenantID == "" || rb.Name == "" {
		return res, runbooker.Errorf(runbooker.EINVALID, "runbook: tenant and name are required")
	}
	if want := runbooker.ContentHash(content); rb.Version != want {
		return res, runbooker.Errorf(runbooker.EINVALID, "runbook %q: version %q is not the content hash %q", rb.Name, rb.Version, want)
	}
	meta, err := json.Marshal(rb.Meta)
	if err != nil {
		return res, runbooker.Errorf(runbooker.EINVALID, "runbook %q: metadata: %v", rb.Name, err)
	}
	if content == nil {
		content = []byte{}
	}
	now := db.now().UTC()
	object := fmt.Sprintf("runbook %q", rb.Name)
	err = db.write(ctx, func(ctx context.Context, tx querier) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO runbook_contents (tenant_id, version, content, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, version) DO NOTHING`,
			rb.TenantID, rb.Version, content, nanos(now)); err != nil {
			return err
		}
		old, err := storeutil.ScanRunbook(tx.QueryRowContext(ctx, `SELECT `+storeutil.RunbookColumns+` FROM runbooks
			WHERE tenant_id = ? AND name = ?`, rb.TenantID, rb.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res = runbooker.PutRunbookResult{Created: true, Changed: true}
			rb.CreatedAt, rb.UpdatedAt = now, now
			_, err = tx.ExecContext(ctx, `INSERT INTO runbooks (`+storeutil.RunbookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				rb.TenantID, rb.Name, string(rb.Language), rb.Version, rb.Scope, rb.Category,
				rb.DefaultGroup, rb.SourceID, meta, nanos(now), nanos(now), rb.LogVerbose)
			return err
		case err != nil:
			return err
		}
		rb.CreatedAt = old.Runbook.CreatedAt
		if old.Unchanged(rb, string(meta)) {
			rb.UpdatedAt = old.Runbook.UpdatedAt
			return nil
		}
		res.Changed = true
		rb.UpdatedAt = now
		_, err = tx.ExecContext(ctx, `UPDATE runbooks SET language = ?, version = ?, scope = ?, category = ?,
			default_group = ?, source_id = ?, meta = ?, updated_at = ?, log_verbose = ? WHERE tenant_id = ? AND name = ?`,
			string(rb.Language), rb.Version, rb.Scope, rb.Category, rb.DefaultGroup, rb.SourceID, meta,
			nanos(now), rb.LogVerbose, rb.TenantID, rb.Name)
		return err
	})
	return res, storeErr(err, object)
}

// Runbook implements runbooker.RunbookStore.
func (db *DB) Runbook(ctx context.Context, tenantID, name string) (*runbooker.Runbook, error) {
	r, err := storeutil.ScanRunbook(db.rq.QueryRowContext(ctx, `SELECT `+storeutil.RunbookColumns+` FROM runbooks
		WHERE tenant_id = ? AND name = ?`, tenantID, name))
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("runbook %q", name))
	}
	return r.Runbook, nil
}

// ListRunbooks implements runbooker.RunbookStore, ordered by name.
func (db *DB) ListRunbooks(ctx context.Context, tenantID string, f runbooker.RunbookFilter) ([]*runbooker.Runbook, error) {
	q := `SELECT ` + storeutil.RunbookColumns + ` FROM runbooks WHERE tenant_id = ?`
	args := []any{tenantID}
	if f.Scope != "" {
		q += ` AND scope = ?`
		args = append(args, f.Scope)
	}
	if f.Category != "" {
		q += ` AND category = ?`
		args = append(args, f.Category)
	}
	if f.SourceID != "" {
		q += ` AND source_id = ?`
		args = append(args, f.SourceID)
	}
	if f.Prefix != "" {
		q += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(f.Prefix), f.Prefix)
	}
	if f.Search != "" {
		// instr, not LIKE: % and _ in the search text are literal. Names are
		// ASCII by grammar, so SQLite's ASCII-only lower() is enough.
		q += ` AND instr(lower(name), ?) > 0`
		args = append(args, strings.ToLower(f.Search))
	}
	rows, err := db.rq.QueryContext(ctx, q+` ORDER BY name`, args...)
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
	res, err := db.exec(ctx, `DELETE FROM runbooks WHERE tenant_id = ? AND name = ?`, tenantID, name)
	if err != nil {
		return storeErr(err, fmt.Sprintf("runbook %q", name))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return runbooker.Errorf(runbooker.ENOTFOUND, "runbook %q not found", name)
	}
	return nil
}

// RunbookContent implements runbooker.RunbookStore.
func (db *DB) RunbookContent(ctx context.Context, tenantID, version string) ([]byte, error) {
	var b []byte
	err := db.rq.QueryRowContext(ctx, `SELECT content FROM runbook_contents WHERE tenant_id = ? AND version = ?`,
		tenantID, version).Scan(&b)
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("runbook version %q", version))
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}
