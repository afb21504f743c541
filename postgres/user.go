package postgres

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
	_, err = db.pool.Exec(ctx, `INSERT INTO users (`+storeutil.UserColumns+`, upn_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.TenantID, u.ID, u.UPN, u.DisplayName, u.PasswordHash, u.Disabled, nanos(u.CreatedAt), nanos(u.UpdatedAt), key)
	return storeErr(err, fmt.Sprintf("user %q", u.UPN))
}

// User implements runbooker.UserStore.
func (db *DB) User(ctx context.Context, tenantID, upn string) (*runbooker.User, error) {
	u, err := storeutil.ScanUser(db.pool.QueryRow(ctx, `SELECT `+storeutil.UserColumns+` FROM users
		WHERE tenant_id = $1 AND upn_key = $2`, tenantID, cleanText(runbooker.UPNKey(upn))))
	return u, storeErr(err, fmt.Sprintf("user %q", upn))
}

// ListUsers implements runbooker.UserStore.
func (db *DB) ListUsers(ctx context.Context, tenantID string) ([]*runbooker.User, error) {
	l, err := list(ctx, db, storeutil.ScanUser, "users", `SELECT `+storeutil.UserColumns+` FROM users
		WHERE tenant_id = $1 ORDER BY upn_key COLLATE "C"`, tenantID)
	if len(l) == 0 {
		l = nil // as the SQLite engine
	}
	return l, err
}

// UpdateUser implements runbooker.UserStore.
func (db *DB) UpdateUser(ctx context.Context, u *runbooker.User) error {
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = db.now()
	}
	u.UpdatedAt = u.UpdatedAt.UTC()
	u.DisplayName = storeutil.CleanText(u.DisplayName)
	var created int64
	err := db.pool.QueryRow(ctx, `UPDATE users SET display_name = $1, password_hash = $2, disabled = $3, updated_at = $4
		WHERE tenant_id = $5 AND upn_key = $6 RETURNING id, upn, created_at`,
		u.DisplayName, cleanText(u.PasswordHash), u.Disabled, nanos(u.UpdatedAt), u.TenantID,
		cleanText(runbooker.UPNKey(u.UPN))).Scan(&u.ID, &u.UPN, &created)
	if err != nil {
		return storeErr(err, fmt.Sprintf("user %q", u.UPN))
	}
	u.CreatedAt = fromNanos(created)
	return nil
}

// DeleteUser implements runbooker.UserStore. The user's sessions stay:
// callers that sign the person out call DeleteUserSessions.
func (db *DB) DeleteUser(ctx context.Context, tenantID, upn string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM users WHERE tenant_id = $1 AND upn_key = $2`, tenantID, cleanText(runbooker.UPNKey(upn)))
	return affected(tag.RowsAffected(), err, fmt.Sprintf("user %q", upn))
}
