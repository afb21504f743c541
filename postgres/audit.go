package postgres

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// AppendAudit implements runbooker.AuditStore. Entries are chained per
// tenant (each carries the hash of the one before), and servers sharing the
// database append side by side. The primary key on (tenant, seq) is what
// keeps one chain: an append names the seq and previous hash it believes
// follow the tenant's last entry, and an insert that lost a race to another
// server fails on the key and is retried on the new last entry.
//
// This process remembers each tenant's last entry, so an append is usually
// one INSERT in its own transaction, and appends arriving together (the
// job starts of concurrent requests) share one statement and one commit.
// An append that keeps losing races falls back to the tenant's advisory
// lock.
func (db *DB) AppendAudit(ctx context.Context, e *runbooker.AuditEntry) error {
	if err := storeutil.PrepareAudit(e, db.now()); err != nil {
		return err
	}
	x, err := db.audits.do(ctx, *e)
	if err != nil {
		return err
	}
	*e = x
	return nil
}

// auditHead is the last entry of a tenant's chain, as this process saw it.
type auditHead struct {
	seq  int64
	hash string
}

// auditHeads caches each tenant's auditHead. An entry may be stale (another
// server appended since): the insert then fails on the primary key and the
// head is read again.
type auditHeads struct {
	mu sync.Mutex
	m  map[string]auditHead
}

func (h *auditHeads) get(tenant string) (auditHead, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.m[tenant]
	return v, ok
}

func (h *auditHeads) set(tenant string, v auditHead) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil || len(h.m) > 10000 {
		h.m = map[string]auditHead{}
	}
	h.m[tenant] = v
}

func (h *auditHeads) forget(tenants []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range tenants {
		delete(h.m, t)
	}
}

// auditRaceRetries is how often a batch is chained anew after losing the
// race for a tenant's next seq before its entries take the advisory lock.
const auditRaceRetries = 4

// appendAudits appends a batch of entries in arrival order. Batches run one
// at a time (the batcher's inFlight is 1), so this process never races
// itself.
func (db *DB) appendAudits(ctx context.Context, calls []*batchCall[runbooker.AuditEntry, runbooker.AuditEntry]) {
	var tenants []string
	seen := map[string]bool{}
	for _, c := range calls {
		if !seen[c.in.TenantID] {
			seen[c.in.TenantID] = true
			tenants = append(tenants, c.in.TenantID)
		}
	}
	var err error
	for try := 0; try < auditRaceRetries; try++ {
		if err = db.loadAuditHeads(ctx, tenants); err != nil {
			break
		}
		out := chainAudit(calls, &db.auditHeads)
		if err = db.insertAudit(ctx, out); err == nil {
			for i, c := range calls {
				c.out = out[i]
			}
			last := map[string]auditHead{}
			for _, x := range out {
				last[x.TenantID] = auditHead{x.Seq, x.Hash}
			}
			for t, h := range last {
				db.auditHeads.set(t, h)
			}
			return
		}
		db.auditHeads.forget(tenants)
		if pgCode(err) != "23505" {
			break
		}
	}
	if err != nil && pgCode(err) != "23505" {
		for _, c := range calls {
			c.err = storeErr(err, "audit entry")
		}
		return
	}
	// Still losing races: one by one, under the tenant's lock.
	for _, c := range calls {
		c.out, c.err = db.appendAuditLocked(ctx, c.in)
	}
}

// chainAudit numbers and hashes the entries of calls after the heads.
func chainAudit(calls []*batchCall[runbooker.AuditEntry, runbooker.AuditEntry], heads *auditHeads) []runbooker.AuditEntry {
	next := map[string]auditHead{}
	out := make([]runbooker.AuditEntry, len(calls))
	for i, c := range calls {
		x := c.in
		h, ok := next[x.TenantID]
		if !ok {
			h, _ = heads.get(x.TenantID)
		}
		x.Seq, x.PrevHash = h.seq+1, h.hash
		x.Hash = x.ComputeHash()
		next[x.TenantID] = auditHead{x.Seq, x.Hash}
		out[i] = x
	}
	return out
}

// loadAuditHeads reads the last entry of each tenant the cache lacks.
func (db *DB) loadAuditHeads(ctx context.Context, tenants []string) error {
	var missing []string
	for _, t := range tenants {
		if _, ok := db.auditHeads.get(t); !ok {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := db.pool.Query(ctx, `SELECT t.id, coalesce(h.seq, 0), coalesce(h.hash, '')
		FROM unnest($1::text[]) AS t(id) LEFT JOIN LATERAL (
			SELECT seq, hash FROM audit_log WHERE tenant_id = t.id ORDER BY seq DESC LIMIT 1) h ON true`, missing)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var h auditHead
		if err := rows.Scan(&t, &h.seq, &h.hash); err != nil {
			return err
		}
		db.auditHeads.set(t, h)
	}
	return rows.Err()
}

// insertAudit stores chained entries in one statement.
func (db *DB) insertAudit(ctx context.Context, xs []runbooker.AuditEntry) error {
	n := len(xs)
	tenants, actors, kinds, surfaces, actions, objects := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	details, sources, prevs, hashes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	seqs, times := make([]int64, n), make([]int64, n)
	for i, x := range xs {
		tenants[i], seqs[i], times[i], actors[i], kinds[i], surfaces[i] = x.TenantID, x.Seq, nanos(x.Time), x.Actor, x.ActorKind, x.Surface
		actions[i], objects[i], details[i], sources[i], prevs[i], hashes[i] = x.Action, x.Object, string(x.Detail), x.Source, x.PrevHash, x.Hash
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO audit_log (`+storeutil.AuditColumns+`)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`,
		tenants, seqs, times, actors, kinds, surfaces, actions, objects, details, sources, prevs, hashes)
	return err
}

// appendAuditLocked appends one entry in a transaction that first takes the
// tenant's advisory lock: the next appender of the tenant waits for the
// commit and then reads this entry as the last.
func (db *DB) appendAuditLocked(ctx context.Context, e runbooker.AuditEntry) (runbooker.AuditEntry, error) {
	x := e
	var err error
	// Appenders of other servers that have not fallen back to the lock may
	// still take the next seq first: each such conflict is their progress.
	for try := 0; try < 50; try++ {
		if err = db.appendAuditTx(ctx, &x); pgCode(err) != "23505" {
			break
		}
	}
	if err != nil {
		return e, storeErr(err, "audit entry")
	}
	db.auditHeads.set(x.TenantID, auditHead{x.Seq, x.Hash})
	return x, nil
}

// appendAuditTx is one try of appendAuditLocked: it chains x on the
// tenant's last entry and inserts it.
func (db *DB) appendAuditTx(ctx context.Context, x *runbooker.AuditEntry) error {
	e := *x
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
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
	q += ` ORDER BY seq LIMIT ` + literalLimit(storeutil.AuditLimit(f.Limit))
	return list(ctx, db, storeutil.ScanAudit, "audit log", q, args...)
}
