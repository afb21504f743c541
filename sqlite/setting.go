package sqlite

import (
	"context"
	"fmt"

	"github.com/runbooker/runbooker"
)

// Setting implements runbooker.SettingStore.
func (db *DB) Setting(ctx context.Context, tenantID, key string) ([]byte, error) {
	var v []byte
	err := db.rq.QueryRowContext(ctx, `SELECT value FROM settings WHERE tenant_id = ? AND key = ?`, tenantID, key).Scan(&v)
	if err != nil {
		return nil, storeErr(err, fmt.Sprintf("setting %q", key))
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutSetting implements runbooker.SettingStore. The value replaces any
// earlier one, verbatim.
func (db *DB) PutSetting(ctx context.Context, tenantID, key string, value []byte) error {
	if tenantID == "" || key == "" {
		return runbooker.Errorf(runbooker.EINVALID, "setting: tenant and key are required")
	}
	if value == nil {
		value = []byte{}
	}
	_, err := db.exec(ctx, `INSERT INTO settings (tenant_id, key, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		tenantID, key, value, nanos(db.now()))
	return storeErr(err, fmt.Sprintf("setting %q", key))
}
