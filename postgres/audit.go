package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// AppendAudit implements runbooker.AuditStore. Servers sharing the
// database append side by side, so the read of the tenant's last entry and
// the insert of the next run in one transaction that first takes the
// tenant's advisory lock: the next appender of the tenant waits for the
// commit and then reads this entry as the last. (The primary key on
// tenant and seq would refuse a fork even without the lock.)
func (db *DB) AppendAudit(ctx context.Context, e *runbooker.AuditEntry) error {
	if err := storeutil.PrepareAudit(e, db.now()); err != nil {
		return err
	}
	x := *e
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, storeutil.AuditLockKey(e.TenantID)); err != nil {
			return err
		}
		var seq int64
		var prev string
		err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1`,
			e.TenantID).Scan(&seq, &prev)
		if errors.Is(err, pgx.ErrNoRows) {
			seq, prev, err = 0, "", nil
		}
		if err != nil {
			return err
		}
		x.Seq, x.PrevHash = seq+1, prev
		x.Hash = x.ComputeHash()
		_, err = tx.Exec(ctx, `INSERT INTO audit_log (`+storeutil.AuditColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			x.TenantID, x.Seq, nanos(x.Time), x.Actor, x.ActorKind, x.Surface, x.Action, x.Object, string(x.Detail),
			x.Source, x.PrevHash, x.Hash)
		return err
	})
	if err != nil {
		return storeErr(err, "audit entry")
	}
	*e = x
	return nil
}

// ListAudit implements runbooker.AuditStore.
func (db *DB) ListAudit(ctx context.Context, tenantID string, f runbooker.AuditFilter) ([]*runbooker.AuditEntry, error) {
	q := `SELECT ` + storeutil.AuditColumns + ` FROM audit_log WHERE tenant_id = $1 AND seq > $2`
	args := []any{tenantID, f.AfterSeq}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Action != "" {
		q += ` AND starts_with(action, ` + arg(cleanText(f.Action)) + `)`
	}
	if f.Actor != "" {
		q += ` AND actor = ` + arg(cleanText(f.Actor))
	}
	if f.Object != "" {
		q += ` AND object = ` + arg(cleanText(f.Object))
	}
	if !f.Since.IsZero() {
		q += ` AND time >= ` + arg(storeutil.Nanos(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND time < ` + arg(storeutil.Nanos(f.Until))
	}
	q += ` ORDER BY seq LIMIT ` + arg(storeutil.AuditLimit(f.Limit))
	return list(ctx, db, storeutil.ScanAudit, "audit log", q, args...)
}
