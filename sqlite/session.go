package sqlite

import (
	"context"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// CreateSession implements runbooker.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *runbooker.Session) error {
	key, groups, err := storeutil.PrepareSession(s, db.now())
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, `INSERT INTO sessions (`+storeutil.SessionColumns+`, upn_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.TenantID, s.IDHash, s.UserID, s.UPN, s.DisplayName, s.Method, groups,
		storeutil.Nanos(s.CreatedAt), storeutil.Nanos(s.LastSeenAt), storeutil.Nanos(s.ExpiresAt), key)
	return storeErr(err, "session")
}

// Session implements runbooker.SessionStore.
func (db *DB) Session(ctx context.Context, idHash string) (*runbooker.Session, error) {
	row := db.rq.QueryRowContext(ctx, `SELECT `+storeutil.SessionColumns+` FROM sessions WHERE id_hash = ?`, idHash)
	s, err := storeutil.ScanSession(row)
	return s, storeErr(err, "session")
}

// TouchSession implements runbooker.SessionStore.
func (db *DB) TouchSession(ctx context.Context, idHash string, now time.Time) error {
	return db.deleteOrTouch(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, storeutil.Nanos(now), idHash)
}

// DeleteSession implements runbooker.SessionStore.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	return db.deleteOrTouch(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
}

// deleteOrTouch runs a statement on one session, ENOTFOUND when there is
// no such session.
func (db *DB) deleteOrTouch(ctx context.Context, query string, args ...any) error {
	res, err := db.exec(ctx, query, args...)
	if err != nil {
		return storeErr(err, "session")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return runbooker.Errorf(runbooker.ENOTFOUND, "session not found")
	}
	return nil
}

// DeleteUserSessions implements runbooker.SessionStore.
func (db *DB) DeleteUserSessions(ctx context.Context, tenantID, upn string) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM sessions WHERE tenant_id = ? AND upn_key = ?`, tenantID, runbooker.UPNKey(upn))
	if err != nil {
		return 0, storeErr(err, "sessions")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PurgeSessions implements runbooker.SessionStore.
func (db *DB) PurgeSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	idle := int64(-1 << 63) // none is idle
	if !idleBefore.IsZero() {
		idle = storeutil.Nanos(idleBefore)
	}
	res, err := db.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?`, storeutil.Nanos(now), idle)
	if err != nil {
		return 0, storeErr(err, "sessions")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
