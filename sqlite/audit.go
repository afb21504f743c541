package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// AppendAudit implements runbooker.AuditStore. Reading the tenant's last
// entry and inserting the next one happen in the single writer's
// transaction, which no other write (of this process, or of another
// process on the same file: BEGIN IMMEDIATE) can interleave with.
func (db *DB) AppendAudit(ctx context.Context, e *runbooker.AuditEntry) error {
	if err := storeutil.PrepareAudit(e, db.now()); err != nil {
		return err
	}
	var seq int64
	var prev, hash string
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`,
			e.TenantID).Scan(&seq, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			seq, prev, err = 0, "", nil
		}
		if err != nil {
			return err
		}
		x := *e
		x.Seq, x.PrevHash = seq+1, prev
		hash = x.ComputeHash()
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (`+storeutil.AuditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.TenantID, x.Seq, nanos(x.Time), x.Actor, x.ActorKind, x.Surface, x.Action, x.Object, string(x.Detail),
			x.Source, x.PrevHash, hash)
		return err
	})
	if err != nil {
		return storeErr(err, "audit entry")
	}
	// Written back only once committed: a failed append leaves e as it was
	// prepared.
	e.Seq, e.PrevHash, e.Hash = seq+1, prev, hash
	return nil
}

// ListAudit implements runbooker.AuditStore.
func (db *DB) ListAudit(ctx context.Context, tenantID string, f runbooker.AuditFilter) ([]*runbooker.AuditEntry, error) {
	q := `SELECT ` + storeutil.AuditColumns + ` FROM audit_log WHERE tenant_id = ? AND seq > ?`
	args := []any{tenantID, f.AfterSeq}
	if f.Action != "" {
		q += ` AND substr(action, 1, length(?)) = ?`
		args = append(args, f.Action, f.Action)
	}
	if f.Actor != "" {
		q += ` AND actor = ?`
		args = append(args, f.Actor)
	}
	if f.Object != "" {
		q += ` AND object = ?`
		args = append(args, f.Object)
	}
	if !f.Since.IsZero() {
		q += ` AND time >= ?`
		args = append(args, storeutil.Nanos(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND time < ?`
		args = append(args, storeutil.Nanos(f.Until))
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, storeutil.AuditLimit(f.Limit))
	rows, err := db.rq.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, storeErr(err, "audit log")
	}
	defer rows.Close()
	out := []*runbooker.AuditEntry{}
	for rows.Next() {
		e, err := storeutil.ScanAudit(rows)
		if err != nil {
			return nil, storeErr(err, "audit log")
		}
		out = append(out, e)
	}
	return out, storeErr(rows.Err(), "audit log")
}
