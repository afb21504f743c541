package postgres

import (
	"context"
	"fmt"

	"github.com/runbooker/runbooker"
)

// EnsureTenant implements runbooker.TenantStore.
func (db *DB) EnsureTenant(ctx context.Context, id string) error {
	if id == "" {
		return runbooker.Errorf(runbooker.EINVALID, "tenant id is required")
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		id, nanos(db.now()))
	return storeErr(err, "tenant "+id)
}

// Tenants implements runbooker.TenantStore. Tenants are ordered by id.
func (db *DB) Tenants(ctx context.Context) ([]runbooker.Tenant, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, created_at FROM tenants ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, storeErr(err, "tenants")
	}
	defer rows.Close()
	var out []runbooker.Tenant
	for rows.Next() {
		var t runbooker.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &created); err != nil {
			return nil, storeErr(err, "tenants")
		}
		t.CreatedAt = fromNanos(created)
		out = append(out, t)
	}
	return out, storeErr(rows.Err(), "tenants")
}

// Setting implements runbooker.SettingStore.
func (db *DB) Setting(ctx context.Context, tenantID, key string) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRow(ctx, `SELECT value FROM settings WHERE tenant_id = $1 AND key = $2`, tenantID, key).Scan(&v)
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
	rows, err := db.pool.Query(ctx, `SELECT key, value FROM settings WHERE tenant_id = $1 AND key = ANY($2::text[])`, tenantID, keys)
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
	_, err := db.pool.Exec(ctx, `INSERT INTO settings (tenant_id, key, value, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		tenantID, key, value, nanos(db.now()))
	return storeErr(err, fmt.Sprintf("setting %q", key))
}

// TenantOutputBytes implements runbooker.TenantStore.
func (db *DB) TenantOutputBytes(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(SUM(octet_length(r.text) + COALESCE(octet_length(r.value), 0)), 0)::bigint
		FROM jobs j JOIN stream_records r ON r.job_pk = j.pk WHERE j.tenant_id = $1`, tenantID).Scan(&n)
	return n, storeErr(err, "tenant "+tenantID)
}
