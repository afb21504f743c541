package sqlite

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
	_, err = db.exec(ctx, `INSERT INTO assets (`+storeutil.AssetColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, type, name) DO UPDATE SET description = excluded.description,
		encrypted = excluded.encrypted, key_id = excluded.key_id, value = excluded.value,
		updated_at = excluded.updated_at`,
		a.TenantID, string(a.Type), a.Name, a.Description, a.Encrypted, a.KeyID, value, nanos(a.UpdatedAt))
	return storeErr(err, fmt.Sprintf("%s %q", a.Type, a.Name))
}

// Asset implements runbooker.AssetStore.
func (db *DB) Asset(ctx context.Context, tenantID string, t runbooker.AssetType, name string) (*runbooker.Asset, error) {
	a, err := storeutil.ScanAsset(db.rq.QueryRowContext(ctx, `SELECT `+storeutil.AssetColumns+` FROM assets
		WHERE tenant_id = ? AND type = ? AND name = ?`, tenantID, string(t), name))
	return a, storeErr(err, fmt.Sprintf("%s %q", t, name))
}

// ListAssets implements runbooker.AssetStore, ordered by type and name. An
// empty type lists assets of every type.
func (db *DB) ListAssets(ctx context.Context, tenantID string, t runbooker.AssetType) ([]*runbooker.Asset, error) {
	return list(ctx, db.rq, storeutil.ScanAsset, "assets", `SELECT `+storeutil.AssetColumns+` FROM assets
		WHERE tenant_id = ? AND (type = ? OR ? = '') ORDER BY type, name`, tenantID, string(t), string(t))
}

// DeleteAsset implements runbooker.AssetStore.
func (db *DB) DeleteAsset(ctx context.Context, tenantID string, t runbooker.AssetType, name string) error {
	res, err := db.exec(ctx, `DELETE FROM assets WHERE tenant_id = ? AND type = ? AND name = ?`,
		tenantID, string(t), name)
	return affected(res, err, fmt.Sprintf("%s %q", t, name))
}

// EncryptedAssets implements runbooker.AssetStore, ordered by tenant, type
// and name.
func (db *DB) EncryptedAssets(ctx context.Context) ([]*runbooker.Asset, error) {
	return list(ctx, db.rq, storeutil.ScanAsset, "assets", `SELECT `+storeutil.AssetColumns+` FROM assets
		WHERE encrypted ORDER BY tenant_id, type, name`)
}
