package sqlite

import (
	"context"

	"github.com/runbooker/runbooker"
)

// EnsureTenant implements runbooker.TenantStore.
func (db *DB) EnsureTenant(ctx context.Context, id string) error {
	if id == "" {
		return runbooker.Errorf(runbooker.EINVALID, "tenant id is required")
	}
	_, err := db.exec(ctx, `INSERT INTO tenants (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
		id, nanos(db.now()))
	return storeErr(err, "tenant "+id)
}

// Tenants implements runbooker.TenantStore. Tenants are ordered by id.
func (db *DB) Tenants(ctx context.Context) ([]runbooker.Tenant, error) {
	rows, err := db.rq.QueryContext(ctx, `SELECT id, created_at FROM tenants ORDER BY id`)
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

// TenantOutputBytes implements runbooker.TenantStore.
func (db *DB) TenantOutputBytes(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	err := db.rq.QueryRowContext(ctx, `SELECT COALESCE(SUM(length(CAST(r.text AS BLOB)) + COALESCE(length(CAST(r.value AS BLOB)), 0)), 0)
		FROM jobs j JOIN stream_records r ON r.job_pk = j.pk WHERE j.tenant_id = ?`, tenantID).Scan(&n)
	return n, storeErr(err, "tenant "+tenantID)
}
