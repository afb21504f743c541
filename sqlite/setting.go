package sqlite

import (
	"context"
	"fmt"
	"strings"

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

// Settings implements runbooker.SettingStore.
func (db *DB) Settings(ctx context.Context, tenantID string, keys []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(keys) == 0 {
		return out, nil
	}
	q := `SELECT key, value FROM settings WHERE tenant_id = ? AND key IN (?` + strings.Repeat(", ?", len(keys)-1) + `)`
	args := []any{tenantID}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := db.rq.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, storeErr(err, "settings")
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, storeErr(err, "settings")
		}
		if v == nil {
			v = []byte{}
		}
		out[k] = v
	}
	return out, storeErr(rows.Err(), "settings")
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
