package http

import (
	"context"
	"net/http"
	"net/url"
)

// CreateWebhook creates a webhook; the answer's Token and URL are shown
// this once.
func (c *Client) CreateWebhook(ctx context.Context, req WebhookRequest) (*WebhookView, error) {
	var out WebhookView
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/webhooks", req, &out)
	return &out, err
}

// Webhooks lists the tenant's webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]WebhookView, error) {
	var out []WebhookView
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/webhooks", nil, &out)
	return out, err
}

// Webhook returns one webhook.
func (c *Client) Webhook(ctx context.Context, id string) (*WebhookView, error) {
	var out WebhookView
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/webhooks/"+url.PathEscape(id), nil, &out)
	return &out, err
}

// UpdateWebhook changes the fields req sets.
func (c *Client) UpdateWebhook(ctx context.Context, id string, req WebhookRequest) (*WebhookView, error) {
	var out WebhookView
	_, err := c.doJSON(ctx, http.MethodPut, "/api/v1/webhooks/"+url.PathEscape(id), req, &out)
	return &out, err
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/api/v1/webhooks/"+url.PathEscape(id), nil, nil)
	return err
}
