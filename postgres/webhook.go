package postgres

import (
	"context"
	"fmt"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// CreateWebhook implements runbooker.WebhookStore.
func (db *DB) CreateWebhook(ctx context.Context, w *runbooker.Webhook) error {
	if w.TenantID == "" || w.TokenHash == "" {
		return runbooker.Errorf(runbooker.EINVALID, "webhook: tenant and token hash are required")
	}
	if err := runbooker.CheckWebhookInput(w); err != nil {
		return err
	}
	params, err := storeutil.WebhookParams(w)
	if err != nil {
		return runbooker.Errorf(runbooker.EINVALID, "webhook parameters: %v", err)
	}
	if w.ID == "" {
		w.ID = runbooker.NewID()
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = db.now().UTC()
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO webhooks (`+storeutil.WebhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		w.ID, w.TenantID, cleanText(w.Name), w.RunbookName, cleanText(params), w.RunOn, boolInt(w.Enabled), nanos(w.ExpiresAt), nanos(w.CreatedAt), w.TokenHash)
	return storeErr(err, fmt.Sprintf("webhook %q", w.Name))
}

// Webhook implements runbooker.WebhookStore.
func (db *DB) Webhook(ctx context.Context, tenantID, id string) (*runbooker.Webhook, error) {
	w, err := storeutil.ScanWebhook(db.pool.QueryRow(ctx, `SELECT `+storeutil.WebhookColumns+` FROM webhooks
		WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return w, storeErr(err, fmt.Sprintf("webhook %q", id))
}

// WebhookByTokenHash implements runbooker.WebhookStore.
func (db *DB) WebhookByTokenHash(ctx context.Context, hash string) (*runbooker.Webhook, error) {
	w, err := storeutil.ScanWebhook(db.pool.QueryRow(ctx, `SELECT `+storeutil.WebhookColumns+` FROM webhooks
		WHERE token_hash = $1`, hash))
	return w, storeErr(err, "webhook")
}

// ListWebhooks implements runbooker.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, tenantID string) ([]*runbooker.Webhook, error) {
	l, err := list(ctx, db, storeutil.ScanWebhook, "webhooks", `SELECT `+storeutil.WebhookColumns+` FROM webhooks
		WHERE tenant_id = $1 ORDER BY name COLLATE "C", id COLLATE "C"`, tenantID)
	if len(l) == 0 {
		l = nil // as the SQLite engine
	}
	return l, err
}

// UpdateWebhook implements runbooker.WebhookStore.
func (db *DB) UpdateWebhook(ctx context.Context, w *runbooker.Webhook) error {
	if err := runbooker.CheckWebhookInput(w); err != nil {
		return err
	}
	params, err := storeutil.WebhookParams(w)
	if err != nil {
		return runbooker.Errorf(runbooker.EINVALID, "webhook parameters: %v", err)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE webhooks SET parameters = $1, run_on = $2, enabled = $3, expires_at = $4
		WHERE tenant_id = $5 AND id = $6`, cleanText(params), w.RunOn, boolInt(w.Enabled), nanos(w.ExpiresAt), w.TenantID, w.ID)
	return affected(tag.RowsAffected(), err, fmt.Sprintf("webhook %q", w.ID))
}

// DeleteWebhook implements runbooker.WebhookStore.
func (db *DB) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return affected(tag.RowsAffected(), err, fmt.Sprintf("webhook %q", id))
}

// boolInt stores a flag as the schema's 0 or 1.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
