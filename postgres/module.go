package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// PutModule implements runbooker.ModuleStore.
func (db *DB) PutModule(ctx context.Context, m *runbooker.ModuleRecord, content []byte) error {
	if err := storeutil.CheckModule(m, content); err != nil {
		return err
	}
	m.UploadedAt = db.now().UTC()
	key := runbooker.ModuleNameKey(m.Kind, m.Name)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO module_contents (tenant_id, sha256, content)
			VALUES ($1, $2, $3) ON CONFLICT (tenant_id, sha256) DO NOTHING`, m.TenantID, m.SHA256, content); err != nil {
			return err
		}
		var old string
		err := tx.QueryRow(ctx, `SELECT sha256 FROM modules WHERE tenant_id = $1 AND kind = $2 AND name_key = $3 AND version = $4
			FOR UPDATE`, m.TenantID, string(m.Kind), key, m.Version).Scan(&old)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO modules (tenant_id, kind, name_key, name, version, sha256, size, file_name, uploaded_at, requires)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant_id, kind, name_key, version) DO UPDATE SET
			name = excluded.name, sha256 = excluded.sha256, size = excluded.size, file_name = excluded.file_name,
			uploaded_at = excluded.uploaded_at, requires = excluded.requires`,
			m.TenantID, string(m.Kind), key, m.Name, m.Version, m.SHA256, m.Size, m.FileName, nanos(m.UploadedAt), storeutil.ModuleRequires(m)); err != nil {
			return err
		}
		if old != "" && old != m.SHA256 {
			return dropUnusedContent(ctx, tx, m.TenantID, old)
		}
		return nil
	})
	return storeErr(err, storeutil.ModuleObject(m.Kind, m.Name, m.Version))
}

// dropUnusedContent removes content no record of the tenant points at.
func dropUnusedContent(ctx context.Context, tx pgx.Tx, tenantID, sha string) error {
	_, err := tx.Exec(ctx, `DELETE FROM module_contents WHERE tenant_id = $1 AND sha256 = $2
		AND NOT EXISTS (SELECT 1 FROM modules WHERE tenant_id = $1 AND sha256 = $2)`, tenantID, sha)
	return err
}

// Module implements runbooker.ModuleStore.
func (db *DB) Module(ctx context.Context, tenantID string, kind runbooker.ModuleKind, name, version string) (*runbooker.ModuleRecord, error) {
	m, err := storeutil.ScanModule(db.pool.QueryRow(ctx, `SELECT `+storeutil.ModuleColumns+` FROM modules
		WHERE tenant_id = $1 AND kind = $2 AND name_key = $3 AND version = $4`,
		tenantID, string(kind), runbooker.ModuleNameKey(kind, name), version))
	return m, storeErr(err, storeutil.ModuleObject(kind, name, version))
}

// ListModules implements runbooker.ModuleStore.
func (db *DB) ListModules(ctx context.Context, tenantID string) ([]*runbooker.ModuleRecord, error) {
	return list(ctx, db, storeutil.ScanModule, "modules", `SELECT `+storeutil.ModuleColumns+` FROM modules
		WHERE tenant_id = $1 ORDER BY kind COLLATE "C", name_key COLLATE "C", uploaded_at, version COLLATE "C"`, tenantID)
}

// DeleteModule implements runbooker.ModuleStore.
func (db *DB) DeleteModule(ctx context.Context, tenantID string, kind runbooker.ModuleKind, name, version string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var sha string
		if err := tx.QueryRow(ctx, `DELETE FROM modules WHERE tenant_id = $1 AND kind = $2 AND name_key = $3 AND version = $4
			RETURNING sha256`, tenantID, string(kind), runbooker.ModuleNameKey(kind, name), version).Scan(&sha); err != nil {
			return err
		}
		return dropUnusedContent(ctx, tx, tenantID, sha)
	})
	return storeErr(err, storeutil.ModuleObject(kind, name, version))
}

// ModuleContent implements runbooker.ModuleStore.
func (db *DB) ModuleContent(ctx context.Context, tenantID, sha256 string) ([]byte, error) {
	var b []byte
	err := db.pool.QueryRow(ctx, `SELECT content FROM module_contents WHERE tenant_id = $1 AND sha256 = $2`,
		tenantID, sha256).Scan(&b)
	if err != nil {
		return nil, storeErr(err, "module content "+sha256)
	}
	return b, nil
}
