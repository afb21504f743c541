package sqlite

import (
	"context"
	"fmt"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// CreateUser implements runbooker.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *runbooker.User) error {
	key, err := storeutil.PrepareUser(u, db.now())
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, `INSERT INTO users (`+storeutil.UserColumns+`, upn_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.TenantID, u.ID, u.UPN, u.DisplayName, u.PasswordHash, u.Disabled, nanos(u.CreatedAt), nanos(u.UpdatedAt), key)
	return storeErr(err, fmt.Sprintf("user %q", u.UPN))
}

// User implements runbooker.UserStore.
func (db *DB) User(ctx context.Context, tenantID, upn string) (*runbooker.User, error) {
	row := db.rq.QueryRowContext(ctx, `SELECT `+storeutil.UserColumns+` FROM users WHERE tenant_id = ? AND upn_key = ?`,
		tenantID, runbooker.UPNKey(upn))
	u, err := storeutil.ScanUser(row)
	return u, storeErr(err, fmt.Sprintf("user %q", upn))
}

// ListUsers implements runbooker.UserStore.
func (db *DB) ListUsers(ctx context.Context, tenantID string) ([]*runbooker.User, error) {
	rows, err := db.rq.QueryContext(ctx, `SELECT `+storeutil.UserColumns+` FROM users WHERE tenant_id = ? ORDER BY upn_key`, tenantID)
	if err != nil {
		return nil, storeErr(err, "users")
	}
	defer rows.Close()
	var out []*runbooker.User
	for rows.Next() {
		u, err := storeutil.ScanUser(rows)
		if err != nil {
			return nil, storeErr(err, "users")
		}
		out = append(out, u)
	}
	return out, storeErr(rows.Err(), "users")
}

// UpdateUser implements runbooker.UserStore.
func (db *DB) UpdateUser(ctx context.Context, u *runbooker.User) error {
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = db.now()
	}
	u.UpdatedAt = u.UpdatedAt.UTC()
	u.DisplayName = storeutil.CleanText(u.DisplayName)
	var created int64
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		return tx.QueryRowContext(ctx, `UPDATE users SET display_name = ?, password_hash = ?, disabled = ?, updated_at = ?
			WHERE tenant_id = ? AND upn_key = ? RETURNING id, upn, created_at`,
			u.DisplayName, u.PasswordHash, u.Disabled, nanos(u.UpdatedAt), u.TenantID, runbooker.UPNKey(u.UPN)).Scan(&u.ID, &u.UPN, &created)
	})
	if err != nil {
		return storeErr(err, fmt.Sprintf("user %q", u.UPN))
	}
	u.CreatedAt = fromNanos(created)
	return nil
}

// DeleteUser implements runbooker.UserStore. The user's sessions stay:
// callers that sign the person out call DeleteUserSessions.
func (db *DB) DeleteUser(ctx context.Context, tenantID, upn string) error {
	res, err := db.exec(ctx, `DELETE FROM users WHERE tenant_id = ? AND upn_key = ?`, tenantID, runbooker.UPNKey(upn))
	if err != nil {
		return storeErr(err, fmt.Sprintf("user %q", upn))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return runbooker.Errorf(runbooker.ENOTFOUND, "user %q not found", upn)
	}
	return nil
}
