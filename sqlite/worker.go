package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// CreateGroup implements runbooker.WorkerStore. A zero CreatedAt is set to
// the current time and written back to g.
func (db *DB) CreateGroup(ctx context.Context, g *runbooker.WorkerGroup) error {
	if g.TenantID == "" || g.Name == "" {
		return runbooker.Errorf(runbooker.EINVALID, "worker group: tenant and name are required")
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = db.now().UTC()
	}
	_, err := db.exec(ctx, `INSERT INTO worker_groups (`+storeutil.GroupColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		g.TenantID, g.Name, g.TokenHash, g.DefaultHybrid, g.RunAs, int64(g.MaxRuntime), g.Capacity,
		g.PowerShell, int64(g.SuspendAfter), nanos(g.CreatedAt), g.MemoryLimit, g.MaxProcesses, g.CPUWeight,
		nullNanos(g.TokenExpiresAt), g.TokenMaxUses)
	if err == nil {
		g.TokenUses = 0
	}
	return storeErr(err, fmt.Sprintf("worker group %q", g.Name))
}

// Group implements runbooker.WorkerStore.
func (db *DB) Group(ctx context.Context, tenantID, name string) (*runbooker.WorkerGroup, error) {
	g, err := storeutil.ScanGroup(db.rq.QueryRowContext(ctx, `SELECT `+storeutil.GroupColumns+` FROM worker_groups
		WHERE tenant_id = ? AND name = ?`, tenantID, name))
	return g, storeErr(err, fmt.Sprintf("worker group %q", name))
}

// GroupByTokenHash implements runbooker.WorkerStore.
func (db *DB) GroupByTokenHash(ctx context.Context, tokenHash string) (*runbooker.WorkerGroup, error) {
	g, err := storeutil.ScanGroup(db.rq.QueryRowContext(ctx, `SELECT `+storeutil.GroupColumns+` FROM worker_groups
		WHERE token_hash = ? AND token_hash <> ''`, tokenHash))
	return g, storeErr(err, "worker group of that token")
}

// UseGroupToken implements runbooker.WorkerStore.
func (db *DB) UseGroupToken(ctx context.Context, tokenHash string, now time.Time) (*runbooker.WorkerGroup, error) {
	var g *runbooker.WorkerGroup
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var err error
		g, err = storeutil.ScanGroup(tx.QueryRowContext(ctx, `UPDATE worker_groups SET token_uses = token_uses + 1
			WHERE token_hash = ?1 AND token_hash <> '' AND (token_expires_at IS NULL OR token_expires_at > ?2)
			AND (token_max_uses = 0 OR token_uses < token_max_uses) RETURNING `+storeutil.GroupColumns, tokenHash, nanos(now)))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		known, err := storeutil.ScanGroup(tx.QueryRowContext(ctx, `SELECT `+storeutil.GroupColumns+` FROM worker_groups
			WHERE token_hash = ? AND token_hash <> ''`, tokenHash))
		if err != nil {
			return err
		}
		return storeutil.TokenRefused(known, now)
	})
	return g, storeErr(err, "worker group of that token")
}

// ListGroups implements runbooker.WorkerStore, ordered by name.
func (db *DB) ListGroups(ctx context.Context, tenantID string) ([]*runbooker.WorkerGroup, error) {
	return list(ctx, db.rq, storeutil.ScanGroup, "worker groups",
		`SELECT `+storeutil.GroupColumns+` FROM worker_groups WHERE tenant_id = ? ORDER BY name`, tenantID)
}

// UpdateGroup implements runbooker.WorkerStore. CreatedAt is kept.
func (db *DB) UpdateGroup(ctx context.Context, g *runbooker.WorkerGroup) error {
	res, err := db.exec(ctx, `UPDATE worker_groups SET token_hash = ?1, default_hybrid = ?2, run_as = ?3,
		max_runtime = ?4, capacity = ?5, powershell = ?6, suspend_after = ?7, memory_limit = ?8, max_processes = ?9,
		cpu_weight = ?10, token_expires_at = ?13, token_max_uses = ?14,
		token_uses = CASE WHEN token_hash = ?1 THEN token_uses ELSE 0 END WHERE tenant_id = ?11 AND name = ?12`,
		g.TokenHash, g.DefaultHybrid, g.RunAs, int64(g.MaxRuntime), g.Capacity, g.PowerShell,
		int64(g.SuspendAfter), g.MemoryLimit, g.MaxProcesses, g.CPUWeight, g.TenantID, g.Name,
		nullNanos(g.TokenExpiresAt), g.TokenMaxUses)
	return affected(res, err, fmt.Sprintf("worker group %q", g.Name))
}

// DeleteGroup implements runbooker.WorkerStore.
func (db *DB) DeleteGroup(ctx context.Context, tenantID, name string) error {
	object := fmt.Sprintf("worker group %q", name)
	return db.write(ctx, func(ctx context.Context, tx querier) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workers WHERE tenant_id = ? AND group_name = ?`,
			tenantID, name).Scan(&n)
		if err != nil {
			return storeErr(err, object)
		}
		if n > 0 {
			return runbooker.Errorf(runbooker.ECONFLICT, "%s still has %d workers; remove them first", object, n)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM worker_groups WHERE tenant_id = ? AND name = ?`, tenantID, name)
		return affected(res, err, object)
	})
}

// CreateWorker implements runbooker.WorkerStore. The worker's group must
// exist (ENOTFOUND otherwise). An empty ID is filled with a new random one
// and a zero RegisteredAt with the current time; both are written back.
func (db *DB) CreateWorker(ctx context.Context, w *runbooker.Worker) error {
	if w.TenantID == "" || w.Group == "" {
		return runbooker.Errorf(runbooker.EINVALID, "worker: tenant and group are required")
	}
	if w.ID == "" {
		w.ID = runbooker.NewID()
	}
	if w.RegisteredAt.IsZero() {
		w.RegisteredAt = db.now().UTC()
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM worker_groups WHERE tenant_id = ? AND name = ?`,
			w.TenantID, w.Group).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return runbooker.Errorf(runbooker.ENOTFOUND, "worker group %q not found", w.Group)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO workers (`+storeutil.WorkerColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.TenantID, w.Group, w.Name, w.SecretHash, w.Version, w.OS, w.Arch, w.Hostname,
			nanos(w.RegisteredAt), nullNanos(w.LastSeenAt), string(w.State), storeutil.EncodeLanguages(w.Languages))
		return err
	})
	return storeErr(err, fmt.Sprintf("worker %q", w.ID))
}

// Worker implements runbooker.WorkerStore.
func (db *DB) Worker(ctx context.Context, id string) (*runbooker.Worker, error) {
	w, err := storeutil.ScanWorker(db.rq.QueryRowContext(ctx, `SELECT `+storeutil.WorkerColumns+` FROM workers WHERE id = ?`, id))
	return w, storeErr(err, fmt.Sprintf("worker %q", id))
}

// ListWorkers implements runbooker.WorkerStore, ordered by name then id. An
// empty group lists the workers of every group of the tenant.
func (db *DB) ListWorkers(ctx context.Context, tenantID, group string) ([]*runbooker.Worker, error) {
	return list(ctx, db.rq, storeutil.ScanWorker, "workers", `SELECT `+storeutil.WorkerColumns+` FROM workers
		WHERE tenant_id = ? AND (group_name = ? OR ? = '') ORDER BY name, id`, tenantID, group, group)
}

// TouchWorker implements runbooker.WorkerStore. LastSeenAt never moves
// backwards, so a delayed touch cannot make a live worker look older.
func (db *DB) TouchWorker(ctx context.Context, id string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE workers SET last_seen_at = max(coalesce(last_seen_at, ?1), ?1) WHERE id = ?2`,
		nanos(now), id)
	return affected(res, err, fmt.Sprintf("worker %q", id))
}

// ReportWorker implements runbooker.WorkerStore.
func (db *DB) ReportWorker(ctx context.Context, id string, r runbooker.WorkerReport) error {
	res, err := db.exec(ctx, `UPDATE workers SET state = ?1,
		languages = CASE WHEN ?2 THEN ?3 ELSE languages END,
		last_seen_at = max(coalesce(last_seen_at, ?4), ?4) WHERE id = ?5`,
		string(r.State), r.Languages != nil, storeutil.EncodeLanguages(r.Languages), nanos(r.Now), id)
	return affected(res, err, fmt.Sprintf("worker %q", id))
}

// DeleteWorker implements runbooker.WorkerStore.
func (db *DB) DeleteWorker(ctx context.Context, tenantID, id string) error {
	res, err := db.exec(ctx, `DELETE FROM workers WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return affected(res, err, fmt.Sprintf("worker %q", id))
}

// LastSeen implements runbooker.WorkerStore. Groups none of whose workers
// was ever seen are absent from the map.
func (db *DB) LastSeen(ctx context.Context, tenantID string) (map[string]time.Time, error) {
	rows, err := db.rq.QueryContext(ctx, `SELECT group_name, max(last_seen_at) FROM workers
		WHERE tenant_id = ? AND last_seen_at IS NOT NULL GROUP BY group_name`, tenantID)
	if err != nil {
		return nil, storeErr(err, "workers")
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var g string
		var at int64
		if err := rows.Scan(&g, &at); err != nil {
			return nil, storeErr(err, "workers")
		}
		out[g] = fromNanos(at)
	}
	return out, storeErr(rows.Err(), "workers")
}

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, q querier, scan func(scanner) (*T, error), object, query string, args ...any) ([]*T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, storeErr(err, object)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, storeErr(err, object)
		}
		out = append(out, v)
	}
	return out, storeErr(rows.Err(), object)
}

// affected turns "no row changed" into ENOTFOUND for the named object.
func affected(res sql.Result, err error, object string) error {
	if err != nil {
		return storeErr(err, object)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return runbooker.Errorf(runbooker.ENOTFOUND, "%s not found", object)
	}
	return nil
}
