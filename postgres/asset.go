package postgres

import (
	"context"
	"fmt"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// PutAsset implements runbooker.AssetStore: it creates the asset or
// replaces it whole. A zero UpdatedAt is set to the current time and
// written back to a.
func (db *DB) PutAsset(ctx context.Context, a *runbooker.Asset) error {
	value, err := storeutil.PrepareAsset(a, db.now())
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO assets (`+storeutil.AssetColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, type, name) DO UPDATE SET description = excluded.description,
		encrypted = excluded.encrypted, key_id = excluded.key_id, value = excluded.value,
		updated_at = excluded.updated_at`,
		a.TenantID, string(a.Type), a.Name, a.Description, a.Encrypted, a.KeyID, value, nanos(a.UpdatedAt))
	return storeErr(err, fmt.Sprintf("%s %q", a.Type, a.Name))
}

// Asset implements runbooker.AssetStore.
func (db *DB) Asset(ctx context.Context, tenantID string, t runbooker.AssetType, name string) (*runbooker.Asset, error) {
	a, err := storeutil.ScanAsset(db.pool.QueryRow(ctx, `SELECT `+storeutil.AssetColumns+` FROM assets
		WHERE tenant_id = $1 AND type = $2 AND name = $3`, tenantID, string(t), name))
	return a, storeErr(err, fmt.Sprintf("%s %q", t, name))
}

// ListAssets implements runbooker.AssetStore, ordered by type and name. An
// empty type lists assets of every type.
func (db *DB) ListAssets(ctx context.Context, tenantID string, t runbooker.AssetType) ([]*runbooker.Asset, error) {
	return list(ctx, db, storeutil.ScanAsset, "assets", `SELECT `+storeutil.AssetColumns+` FROM assets
		WHERE tenant_id = $1 AND (type = $2 OR $2 = '') ORDER BY type COLLATE "C", name COLLATE "C"`, tenantID, string(t))
}

// DeleteAsset implements runbooker.AssetStore.
func (db *DB) DeleteAsset(ctx context.Context, tenantID string, t runbooker.AssetType, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM assets WHERE tenant_id = $1 AND type = $2 AND name = $3`,
		tenantID, string(t), name)
	return affected(tag.RowsAffected(), err, fmt.Sprintf("%s %q", t, name))
}

// EncryptedAssets implements runbooker.AssetStore, ordered by tenant, type
// and name.
func (db *DB) EncryptedAssets(ctx context.Context) ([]*runbooker.Asset, error) {
	return list(ctx, db, storeutil.ScanAsset, "assets", `SELECT `+storeutil.AssetColumns+` FROM assets
		WHERE encrypted ORDER BY tenant_id COLLATE "C", type COLLATE "C", name COLLATE "C"`)
}
