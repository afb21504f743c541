package http

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/engine"
)

// SurfaceWebhook is the audit log's surface of webhook calls.
const SurfaceWebhook = "webhook"

// MaxWebhookBody is the largest body a webhook call may carry; a larger
// one is answered 413.
const MaxWebhookBody = 512 << 10

// Webhook call rate, per webhook: a bucket of hookBurst calls refilled by
// one every hookEvery.
const (
	hookBurst = 10
	hookEvery = time.Second
)

// WebhookView is a webhook as the management API shows it. Token and URL
// are set only in the answer to its creation: they are never shown again.
type WebhookView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	RunbookName string         `json:"runbookName"`
	Parameters  map[string]any `json:"parameters,omitempty"`
	RunOn       string         `json:"runOn,omitempty"`
	Enabled     bool           `json:"enabled"`
	ExpiresAt   time.Time      `json:"expiresAt"`
	CreatedAt   time.Time      `json:"createdAt"`
	Token       string         `json:"token,omitempty"`
	URL         string         `json:"url,omitempty"`
}

// WebhookRequest creates (POST) or changes (PUT) a webhook. On PUT, fields
// left out keep their value; name and runbook cannot change.
type WebhookRequest struct {
	Name        string          `json:"name,omitempty"`
	RunbookName string          `json:"runbookName,omitempty"`
	Parameters  *map[string]any `json:"parameters,omitempty"`
	RunOn       *string         `json:"runOn,omitempty"`
	Enabled     *bool           `json:"enabled,omitempty"`
	ExpiresAt   time.Time       `json:"expiresAt,omitzero"`
}

// WebhookCallResponse answers a webhook call, as Azure Automation does.
type WebhookCallResponse struct {
	JobIds []string `json:"JobIds"`
}

func webhookView(w *runbooker.Webhook) WebhookView {
	return WebhookView{ID: w.ID, Name: w.Name, RunbookName: w.RunbookName, Parameters: w.Parameters, RunOn: w.RunOn,
		Enabled: w.Enabled, ExpiresAt: w.ExpiresAt, CreatedAt: w.CreatedAt}
}

func (s *Server) routeWebhooks(mux *routeMux) {
	// Deliberately unauthenticated apart from the token in the path: a
	// webhook is a secret URL another system calls.
	mux.HandleFunc("POST /webhooks/{token}", s.handleWebhookCall)
	mux.HandleFunc("GET /api/v1/webhooks", s.authenticate(access.Admin, s.handleListWebhooks))
	mux.HandleFunc("POST /api/v1/webhooks", s.authenticate(access.Admin, s.audited("webhook.create", s.handleCreateWebhook)))
	mux.HandleFunc("GET /api/v1/webhooks/{id}", s.authenticate(access.Admin, s.handleGetWebhook))
	mux.HandleFunc("PUT /api/v1/webhooks/{id}", s.authenticate(access.Admin, s.audited("webhook.update", s.handleUpdateWebhook)))
	mux.HandleFunc("DELETE /api/v1/webhooks/{id}", s.authenticate(access.Admin, s.audited("webhook.delete", s.handleDeleteWebhook)))
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	l, err := s.Store.ListWebhooks(r.Context(), principal(r.Context()).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]WebhookView, 0, len(l))
	for _, h := range l {
		out = append(out, webhookView(h))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) {
	h, err := s.Store.Webhook(r.Context(), principal(r.Context()).TenantID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookView(h))
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var req WebhookRequest
	if err := decodeBody(w, r, 64<<10, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	h := &runbooker.Webhook{TenantID: principal(r.Context()).TenantID, Name: req.Name, RunbookName: req.RunbookName,
		Enabled: req.Enabled == nil || *req.Enabled, ExpiresAt: req.ExpiresAt}
	if req.Parameters != nil {
		h.Parameters = *req.Parameters
	}
	if req.RunOn != nil {
		h.RunOn = *req.RunOn
	}
	token, err := s.Engine.CreateWebhook(r.Context(), h)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := webhookView(h)
	v.Token, v.URL = token, requestBase(r)+"/webhooks/"+token
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) {
	var req WebhookRequest
	if err := decodeBody(w, r, 64<<10, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	h, err := s.Store.Webhook(r.Context(), principal(r.Context()).TenantID, r.PathValue("id"))
	if err == nil && ((req.Name != "" && req.Name != h.Name) || (req.RunbookName != "" && req.RunbookName != h.RunbookName)) {
		err = runbooker.Errorf(runbooker.EINVALID, "a webhook's name and runbook cannot change: create another")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Parameters != nil {
		h.Parameters = *req.Parameters
	}
	if req.RunOn != nil {
		h.RunOn = *req.RunOn
	}
	if req.Enabled != nil {
		h.Enabled = *req.Enabled
	}
	if !req.ExpiresAt.IsZero() {
		h.ExpiresAt = req.ExpiresAt
	}
	if err := s.Engine.UpdateWebhook(r.Context(), h); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookView(h))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.DeleteWebhook(r.Context(), principal(r.Context()).TenantID, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// requestBase is the scheme and host the request came to, for the URL a
// new webhook is shown with.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// handleWebhookCall starts a job of the token's webhook. An unknown,
// disabled and expired webhook are answered alike (the same 404, after the
// same hash lookup), so a caller learns nothing of which it was.
func (s *Server) handleWebhookCall(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, err := s.Store.WebhookByTokenHash(ctx, runbooker.HashSecret(r.PathValue("token")))
	if err != nil && runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		s.writeError(w, r, err)
		return
	}
	notFound := runbooker.Errorf(runbooker.ENOTFOUND, "no such webhook")
	if err != nil {
		// No tenant to record it in: the log keeps it.
		s.Log.Warn("webhook call with an unknown token", "source", sourceKey(r))
		s.writeError(w, r, notFound)
		return
	}
	actor := auditActor{tenant: h.TenantID, name: engine.WebhookCaller(h), kind: runbooker.ActorWebhook, surface: SurfaceWebhook}
	// A refusal is answered and flushed before it is recorded, so a
	// disabled or expired webhook answers as fast as an unknown one.
	refuse := func(reason string, status int, answer func()) {
		answer()
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		s.record(ctx, r, actor, "webhook.call.denied", h.ID, map[string]any{"webhook": h.Name, "reason": reason, "status": status})
	}
	now := s.Engine.Now()
	switch {
	case !h.Enabled:
		refuse("disabled", http.StatusNotFound, func() { s.writeError(w, r, notFound) })
		return
	case !now.Before(h.ExpiresAt):
		refuse("expired", http.StatusNotFound, func() { s.writeError(w, r, notFound) })
		return
	}
	if d := s.hooks.take(h.ID, now); d > 0 {
		refuse("rate limited", http.StatusTooManyRequests, func() { s.throttled(w, r, d, "calls of this webhook") })
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			refuse("body too large", http.StatusRequestEntityTooLarge, func() {
				writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request body is larger than 512 KiB"})
			})
			return
		}
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "reading the request body: %v", err))
		return
	}
	pol, err := s.policyFor(ctx, h.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The webhook calls as an unbound operator credential would: the
	// Runbook Runner's rights, judged by the enabled and disabled patterns.
	c := &who{TenantID: h.TenantID, Name: actor.name, Surface: SurfaceWebhook, policy: pol,
		Caller: access.Caller{Name: actor.name, Rights: access.RunnerRights()}}
	data := engine.WebhookData(h.Name, string(body), webhookHeaders(r.Header))
	j, err := s.Engine.StartWebhookJob(ctx, h, data, s.authorizeJob(c))
	if err != nil {
		if code := runbooker.ErrorCode(err); code == runbooker.EFORBIDDEN || code == runbooker.EINVALID || code == runbooker.ENOTFOUND {
			refuse(runbooker.ErrorMessage(err), errorStatus[code], func() { s.writeError(w, r, err) })
			return
		}
		s.writeError(w, r, err)
		return
	}
	s.record(ctx, r, actor, "webhook.call", h.ID, map[string]any{"webhook": h.Name, "jobId": j.ID,
		"runbook": j.RunbookName, "bodyBytes": len(body)})
	if s.OnWebhookFired != nil {
		s.OnWebhookFired()
	}
	writeJSON(w, http.StatusAccepted, WebhookCallResponse{JobIds: []string{j.ID}})
}

// secretHeaders are the request headers a runbook never sees: they carry
// the caller's credentials, not the call's data.
var secretHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Api-Key": true, "X-Auth-Token": true, "X-Csrf-Token": true, "X-Amz-Security-Token": true,
}

// webhookHeaders returns the call's headers without the credential-bearing ones.
func webhookHeaders(in http.Header) map[string][]string {
	out := make(map[string][]string, len(in))
	for k, v := range in {
		ck := http.CanonicalHeaderKey(k)
		if secretHeaders[ck] || strings.HasSuffix(strings.ToLower(ck), "-token") {
			continue
		}
		out[ck] = v
	}
	return out
}

// hookLimiter is a token bucket per webhook: hookBurst calls at once, then
// one every hookEvery. The table is bounded; when full it starts over,
// which at worst lets a burst through early.
type hookLimiter struct {
	mu sync.Mutex
	m  map[string]*hookBucket
}

type hookBucket struct {
	tokens float64
	at     time.Time
}

const hookLimiterMax = 10000

func newHookLimiter() *hookLimiter {
	return &hookLimiter{m: map[string]*hookBucket{}}
}

// take spends a token of webhook id's bucket at now; when none is left it
// returns how long until one is.
func (l *hookLimiter) take(id string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[id]
	if !ok {
		if len(l.m) >= hookLimiterMax {
			l.m = map[string]*hookBucket{}
		}
		b = &hookBucket{tokens: hookBurst, at: now}
		l.m[id] = b
	}
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(hookBurst, b.tokens+float64(el)/float64(hookEvery))
	}
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(hookEvery))
	}
	b.tokens--
	return 0
}
