package sqlite

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
	_, err = db.exec(ctx, `INSERT INTO webhooks (`+storeutil.WebhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.TenantID, w.Name, w.RunbookName, params, w.RunOn, boolInt(w.Enabled), nanos(w.ExpiresAt), nanos(w.CreatedAt), w.TokenHash)
	return storeErr(err, fmt.Sprintf("webhook %q", w.Name))
}

// Webhook implements runbooker.WebhookStore.
func (db *DB) Webhook(ctx context.Context, tenantID, id string) (*runbooker.Webhook, error) {
	row := db.rq.QueryRowContext(ctx, `SELECT `+storeutil.WebhookColumns+` FROM webhooks WHERE tenant_id = ? AND id = ?`, tenantID, id)
	w, err := storeutil.ScanWebhook(row)
	return w, storeErr(err, fmt.Sprintf("webhook %q", id))
}

// WebhookByTokenHash implements runbooker.WebhookStore.
func (db *DB) WebhookByTokenHash(ctx context.Context, hash string) (*runbooker.Webhook, error) {
	row := db.rq.QueryRowContext(ctx, `SELECT `+storeutil.WebhookColumns+` FROM webhooks WHERE token_hash = ?`, hash)
	w, err := storeutil.ScanWebhook(row)
	return w, storeErr(err, "webhook")
}

// ListWebhooks implements runbooker.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, tenantID string) ([]*runbooker.Webhook, error) {
	rows, err := db.rq.QueryContext(ctx, `SELECT `+storeutil.WebhookColumns+` FROM webhooks
		WHERE tenant_id = ? ORDER BY name, id`, tenantID)
	if err != nil {
		return nil, storeErr(err, "webhooks")
	}
	defer rows.Close()
	var out []*runbooker.Webhook
	for rows.Next() {
		w, err := storeutil.ScanWebhook(rows)
		if err != nil {
			return nil, storeErr(err, "webhooks")
		}
		out = append(out, w)
	}
	return out, storeErr(rows.Err(), "webhooks")
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
	res, err := db.exec(ctx, `UPDATE webhooks SET parameters = ?, run_on = ?, enabled = ?, expires_at = ?
		WHERE tenant_id = ? AND id = ?`, params, w.RunOn, boolInt(w.Enabled), nanos(w.ExpiresAt), w.TenantID, w.ID)
	if err != nil {
		return storeErr(err, fmt.Sprintf("webhook %q", w.ID))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return runbooker.Errorf(runbooker.ENOTFOUND, "webhook %q not found", w.ID)
	}
	return nil
}

// DeleteWebhook implements runbooker.WebhookStore.
func (db *DB) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	res, err := db.exec(ctx, `DELETE FROM webhooks WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return storeErr(err, fmt.Sprintf("webhook %q", id))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return runbooker.Errorf(runbooker.ENOTFOUND, "webhook %q not found", id)
	}
	return nil
}

// boolInt stores a flag as the schema's 0 or 1.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
