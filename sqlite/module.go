package sqlite

import (
	"context"

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
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO module_contents (tenant_id, sha256, content)
			VALUES (?, ?, ?) ON CONFLICT (tenant_id, sha256) DO NOTHING`, m.TenantID, m.SHA256, content); err != nil {
			return err
		}
		var old string
		err := tx.QueryRowContext(ctx, `SELECT sha256 FROM modules WHERE tenant_id = ? AND kind = ? AND name_key = ? AND version = ?`,
			m.TenantID, string(m.Kind), key, m.Version).Scan(&old)
		if err == nil && old != m.SHA256 {
			defer db.dropUnusedContent(ctx, tx, m.TenantID, old)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO modules (tenant_id, kind, name_key, name, version, sha256, size, file_name, uploaded_at, requires)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, kind, name_key, version) DO UPDATE SET
			name = excluded.name, sha256 = excluded.sha256, size = excluded.size, file_name = excluded.file_name,
			uploaded_at = excluded.uploaded_at, requires = excluded.requires`,
			m.TenantID, string(m.Kind), key, m.Name, m.Version, m.SHA256, m.Size, m.FileName, nanos(m.UploadedAt), storeutil.ModuleRequires(m))
		return err
	})
	return storeErr(err, storeutil.ModuleObject(m.Kind, m.Name, m.Version))
}

// dropUnusedContent removes content no record of the tenant points at.
func (db *DB) dropUnusedContent(ctx context.Context, tx querier, tenantID, sha string) {
	_, _ = tx.ExecContext(ctx, `DELETE FROM module_contents WHERE tenant_id = ? AND sha256 = ?
		AND NOT EXISTS (SELECT 1 FROM modules WHERE tenant_id = ? AND sha256 = ?)`, tenantID, sha, tenantID, sha)
}

// Module implements runbooker.ModuleStore.
func (db *DB) Module(ctx context.Context, tenantID string, kind runbooker.ModuleKind, name, version string) (*runbooker.ModuleRecord, error) {
	m, err := storeutil.ScanModule(db.r.QueryRowContext(ctx, `SELECT `+storeutil.ModuleColumns+` FROM modules
		WHERE tenant_id = ? AND kind = ? AND name_key = ? AND version = ?`,
		tenantID, string(kind), runbooker.ModuleNameKey(kind, name), version))
	return m, storeErr(err, storeutil.ModuleObject(kind, name, version))
}

// ListModules implements runbooker.ModuleStore.
func (db *DB) ListModules(ctx context.Context, tenantID string) ([]*runbooker.ModuleRecord, error) {
	return list(ctx, db.r, storeutil.ScanModule, "modules", `SELECT `+storeutil.ModuleColumns+` FROM modules
		WHERE tenant_id = ? ORDER BY kind, name_key, uploaded_at, version`, tenantID)
}

// DeleteModule implements runbooker.ModuleStore.
func (db *DB) DeleteModule(ctx context.Context, tenantID string, kind runbooker.ModuleKind, name, version string) error {
	object := storeutil.ModuleObject(kind, name, version)
	var found bool
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var sha string
		err := tx.QueryRowContext(ctx, `DELETE FROM modules WHERE tenant_id = ? AND kind = ? AND name_key = ? AND version = ?
			RETURNING sha256`, tenantID, string(kind), runbooker.ModuleNameKey(kind, name), version).Scan(&sha)
		if err != nil {
			return err
		}
		found = true
		db.dropUnusedContent(ctx, tx, tenantID, sha)
		return nil
	})
	if err != nil {
		return storeErr(err, object)
	}
	if !found {
		return runbooker.Errorf(runbooker.ENOTFOUND, "%s not found", object)
	}
	return nil
}

// ModuleContent implements runbooker.ModuleStore.
func (db *DB) ModuleContent(ctx context.Context, tenantID, sha256 string) ([]byte, error) {
	var b []byte
	err := db.r.QueryRowContext(ctx, `SELECT content FROM module_contents WHERE tenant_id = ? AND sha256 = ?`,
		tenantID, sha256).Scan(&b)
	if err != nil {
		return nil, storeErr(err, "module content "+sha256)
	}
	return b, nil
}
