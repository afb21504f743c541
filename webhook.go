package runbooker

import (
	"context"
	"strings"
	"time"
)

// Webhook is a secret URL that starts a job of one runbook, as Azure
// Automation's webhooks do. Only the SHA-256 of its token is stored (the
// token is shown once, at creation); a call is looked up by that hash.
type Webhook struct {
	ID          string         `json:"id"`
	TenantID    string         `json:"tenantId"`
	Name        string         `json:"name"`
	RunbookName string         `json:"runbookName"`
	Parameters  map[string]any `json:"parameters,omitempty"` // fixed, checked like a start's when saved
	RunOn       string         `json:"runOn,omitempty"`      // worker group; empty: the runbook's default
	Enabled     bool           `json:"enabled"`
	ExpiresAt   time.Time      `json:"expiresAt"`
	CreatedAt   time.Time      `json:"createdAt"`
	TokenHash   string         `json:"-"`
}

// WebhookDataParameter is the parameter a webhook's job receives the call
// in: {"WebhookName", "RequestBody", "RequestHeader"}, as in Azure Automation.
const WebhookDataParameter = "WebhookData"

// DefaultWebhookLifetime is how long a webhook lives when its creator names
// no expiry (Azure Automation's default).
const DefaultWebhookLifetime = 365 * 24 * time.Hour

// CheckWebhookInput checks the parts of a webhook the store relies on.
func CheckWebhookInput(w *Webhook) error {
	switch {
	case strings.TrimSpace(w.Name) == "" || len(w.Name) > 200 || strings.ContainsRune(w.Name, 0):
		return Errorf(EINVALID, "name: a name of 1 to 200 characters is required")
	case w.RunbookName == "":
		return Errorf(EINVALID, "runbookName is required")
	case w.ExpiresAt.IsZero():
		return Errorf(EINVALID, "expiresAt is required")
	}
	for k := range w.Parameters {
		if strings.EqualFold(k, WebhookDataParameter) {
			return Errorf(EINVALID, "parameter %q is filled in by each call and cannot be fixed", k)
		}
	}
	return nil
}

// WebhookStore persists webhooks.
type WebhookStore interface {
	// CreateWebhook stores a new webhook; an empty ID is filled in and a
	// zero CreatedAt set to now. A second webhook of the same name in the
	// tenant, or with the same token hash, is ECONFLICT.
	CreateWebhook(ctx context.Context, w *Webhook) error
	Webhook(ctx context.Context, tenantID, id string) (*Webhook, error)
	// WebhookByTokenHash finds a webhook in any tenant by its token's hash:
	// a call knows nothing but the token. ENOTFOUND when none has it.
	WebhookByTokenHash(ctx context.Context, hash string) (*Webhook, error)
	// ListWebhooks lists a tenant's webhooks by name.
	ListWebhooks(ctx context.Context, tenantID string) ([]*Webhook, error)
	// UpdateWebhook changes the enabled flag, expiry, parameters and worker
	// group of a stored webhook (name, runbook and token stay).
	UpdateWebhook(ctx context.Context, w *Webhook) error
	DeleteWebhook(ctx context.Context, tenantID, id string) error
}
