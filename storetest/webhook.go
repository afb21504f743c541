package storetest

import (
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// Webhooks are found by their token's hash in any tenant, by id only in
// their own; names are unique per tenant; updates change only the flag,
// expiry, parameters and worker group.
func testWebhooks(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	w := &runbooker.Webhook{TenantID: tenantA, Name: "onboard", RunbookName: "rb", Enabled: true, ExpiresAt: exp,
		Parameters: map[string]any{"Team": "ops"}, TokenHash: runbooker.HashSecret("tok-a")}
	ok(t, s.CreateWebhook(ctx, w), "CreateWebhook")
	if w.ID == "" || w.CreatedAt.IsZero() {
		t.Fatalf("CreateWebhook did not fill in id and time: %+v", w)
	}
	dup := *w
	dup.ID, dup.TokenHash = "", runbooker.HashSecret("tok-b")
	wantCode(t, s.CreateWebhook(ctx, &dup), runbooker.ECONFLICT, "a second webhook of the same name")
	other := &runbooker.Webhook{TenantID: tenantB, Name: "onboard", RunbookName: "rb", ExpiresAt: exp,
		TokenHash: runbooker.HashSecret("tok-c")}
	ok(t, s.CreateWebhook(ctx, other), "the same name in another tenant")

	got, err := s.WebhookByTokenHash(ctx, runbooker.HashSecret("tok-a"))
	ok(t, err, "WebhookByTokenHash")
	if got.ID != w.ID || got.TenantID != tenantA || !got.Enabled || !got.ExpiresAt.Equal(exp) || got.Parameters["Team"] != "ops" {
		t.Errorf("read back %+v", got)
	}
	_, err = s.WebhookByTokenHash(ctx, runbooker.HashSecret("nope"))
	wantCode(t, err, runbooker.ENOTFOUND, "an unknown token hash")
	_, err = s.Webhook(ctx, tenantB, w.ID)
	wantCode(t, err, runbooker.ENOTFOUND, "another tenant's webhook")

	w.Enabled, w.ExpiresAt, w.Parameters, w.RunOn = false, exp.Add(time.Hour), nil, "hybrid"
	ok(t, s.UpdateWebhook(ctx, w), "UpdateWebhook")
	got, err = s.Webhook(ctx, tenantA, w.ID)
	ok(t, err, "Webhook")
	if got.Enabled || !got.ExpiresAt.Equal(exp.Add(time.Hour)) || len(got.Parameters) != 0 || got.RunOn != "hybrid" || got.Name != "onboard" {
		t.Errorf("after update %+v", got)
	}
	l, err := s.ListWebhooks(ctx, tenantA)
	ok(t, err, "ListWebhooks")
	if len(l) != 1 || l[0].ID != w.ID {
		t.Errorf("ListWebhooks %+v", l)
	}
	wantCode(t, s.DeleteWebhook(ctx, tenantB, w.ID), runbooker.ENOTFOUND, "delete from another tenant")
	ok(t, s.DeleteWebhook(ctx, tenantA, w.ID), "DeleteWebhook")
	_, err = s.WebhookByTokenHash(ctx, runbooker.HashSecret("tok-a"))
	wantCode(t, err, runbooker.ENOTFOUND, "a deleted webhook")
}
