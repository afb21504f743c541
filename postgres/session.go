package postgres

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
	_, err = db.pool.Exec(ctx, `INSERT INTO sessions (`+storeutil.SessionColumns+`, upn_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.TenantID, cleanText(s.IDHash), cleanText(s.UserID), s.UPN, s.DisplayName, s.Method, groups,
		storeutil.Nanos(s.CreatedAt), storeutil.Nanos(s.LastSeenAt), storeutil.Nanos(s.ExpiresAt), key)
	return storeErr(err, "session")
}

// Session implements runbooker.SessionStore.
func (db *DB) Session(ctx context.Context, idHash string) (*runbooker.Session, error) {
	s, err := storeutil.ScanSession(db.pool.QueryRow(ctx, `SELECT `+storeutil.SessionColumns+` FROM sessions
		WHERE id_hash = $1`, cleanText(idHash)))
	return s, storeErr(err, "session")
}

// TouchSession implements runbooker.SessionStore.
func (db *DB) TouchSession(ctx context.Context, idHash string, now time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2`, storeutil.Nanos(now), cleanText(idHash))
	return affected(tag.RowsAffected(), err, "session")
}

// DeleteSession implements runbooker.SessionStore.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, cleanText(idHash))
	return affected(tag.RowsAffected(), err, "session")
}

// DeleteUserSessions implements runbooker.SessionStore.
func (db *DB) DeleteUserSessions(ctx context.Context, tenantID, upn string) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND upn_key = $2`,
		tenantID, cleanText(runbooker.UPNKey(upn)))
	if err != nil {
		return 0, storeErr(err, "sessions")
	}
	return int(tag.RowsAffected()), nil
}

// PurgeSessions implements runbooker.SessionStore.
func (db *DB) PurgeSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	idle := int64(-1 << 63) // none is idle
	if !idleBefore.IsZero() {
		idle = storeutil.Nanos(idleBefore)
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2`, storeutil.Nanos(now), idle)
	if err != nil {
		return 0, storeErr(err, "sessions")
	}
	return int(tag.RowsAffected()), nil
}
