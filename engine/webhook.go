package engine

import (
	"context"
	"strings"

	"github.com/runbooker/runbooker"
)

// CreateWebhook checks a new webhook as a start of its runbook would be
// checked, gives it a token and stores it. The token is returned once; only
// its hash is kept. A zero ExpiresAt is a year from now.
func (e *Engine) CreateWebhook(ctx context.Context, w *runbooker.Webhook) (string, error) {
	if w.ExpiresAt.IsZero() {
		w.ExpiresAt = e.Now().Add(runbooker.DefaultWebhookLifetime)
	}
	if err := e.CheckWebhook(ctx, w); err != nil {
		return "", err
	}
	token := runbooker.NewSecret()
	w.TokenHash = runbooker.HashSecret(token)
	w.ID, w.CreatedAt = "", e.Now()
	if err := e.store.CreateWebhook(ctx, w); err != nil {
		return "", err
	}
	return token, nil
}

// UpdateWebhook checks and stores a changed webhook.
func (e *Engine) UpdateWebhook(ctx context.Context, w *runbooker.Webhook) error {
	if err := e.CheckWebhook(ctx, w); err != nil {
		return err
	}
	return e.store.UpdateWebhook(ctx, w)
}

// CheckWebhook judges a webhook's runbook, fixed parameters and worker
// group as a start would judge them, with an empty call's WebhookData:
// a webhook that could never start a job is refused when saved, not at
// its first call.
func (e *Engine) CheckWebhook(ctx context.Context, w *runbooker.Webhook) error {
	if err := runbooker.CheckWebhookInput(w); err != nil {
		return err
	}
	data := WebhookData(w.Name, "", nil)
	params, err := e.webhookParams(ctx, w, data)
	if err != nil {
		return err
	}
	_, err = e.newJob(ctx, CreateJobParams{TenantID: w.TenantID, RunbookName: w.RunbookName, Params: params,
		RunOn: w.RunOn, Caller: WebhookCaller(w)})
	return err
}

// WebhookCaller is the caller a webhook's jobs record.
func WebhookCaller(w *runbooker.Webhook) string { return "webhook " + w.Name }

// WebhookData builds the WebhookData parameter of one call, as Azure
// Automation passes it: the webhook's name, the raw body as a string and
// the request's headers, one value each (several joined by ", ").
func WebhookData(name, body string, header map[string][]string) map[string]any {
	h := make(map[string]any, len(header))
	for k, vs := range header {
		h[k] = strings.Join(vs, ", ")
	}
	return map[string]any{"WebhookName": name, "RequestBody": body, "RequestHeader": h}
}

// StartWebhookJob starts a job of the webhook's runbook with its fixed
// parameters and data as WebhookData (when the runbook takes it, or
// declares no parameters at all). authorize is the Authorize hook.
func (e *Engine) StartWebhookJob(ctx context.Context, w *runbooker.Webhook, data map[string]any,
	authorize func(context.Context, *runbooker.Runbook, map[string]any) (*runbooker.JobTarget, error)) (*runbooker.Job, error) {
	params, err := e.webhookParams(ctx, w, data)
	if err != nil {
		return nil, err
	}
	return e.CreateJob(ctx, CreateJobParams{TenantID: w.TenantID, RunbookName: w.RunbookName, Params: params,
		RunOn: w.RunOn, Caller: WebhookCaller(w), Authorize: authorize})
}

// webhookParams merges the webhook's fixed parameters with the call's
// WebhookData. A runbook that declares parameters but not WebhookData does
// not get it (binding would refuse an unknown parameter), as in Azure.
func (e *Engine) webhookParams(ctx context.Context, w *runbooker.Webhook, data map[string]any) (map[string]any, error) {
	rb, err := e.store.runbook(ctx, w.TenantID, w.RunbookName)
	if err != nil {
		return nil, err
	}
	params := make(map[string]any, len(w.Parameters)+1)
	for k, v := range w.Parameters {
		params[k] = v
	}
	if _, declared := runbooker.FindParameter(rb.Meta.Parameters, runbooker.WebhookDataParameter); declared ||
		rb.Meta.Parameters == nil || rb.Meta.ParseError != nil {
		params[runbooker.WebhookDataParameter] = data
	}
	return params, nil
}
