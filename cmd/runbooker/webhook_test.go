package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

const pyWebhook = `import json

def main(WebhookData: dict):
    body = json.loads(WebhookData["RequestBody"])
    print("user=" + body["user"])
    print("trace=" + WebhookData["RequestHeader"]["X-Trace"])
    print("name=" + WebhookData["WebhookName"])
    print("auth=" + str("Authorization" in WebhookData["RequestHeader"] or "Cookie" in WebhookData["RequestHeader"]))
`

// post calls a webhook URL with a JSON body and extra headers.
func webhookPost(t *testing.T, url, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

func TestWebhookStartsPythonRunbookWithWebhookData(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	s.put("org_general_hook-py", runbooker.LangPython, pyWebhook)

	h, err := s.client.CreateWebhook(ctx, rbhttp.WebhookRequest{Name: "onboarding", RunbookName: "org_general_hook-py"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Token == "" || !strings.HasSuffix(h.URL, "/webhooks/"+h.Token) || !h.Enabled {
		t.Fatalf("create answered %+v", h)
	}
	if d := h.ExpiresAt.Sub(h.CreatedAt); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("default expiry %v after creation, want a year", d)
	}

	// The token is shown once: neither the list nor the item shows it, and
	// the store holds only its hash.
	got, err := s.client.Webhook(ctx, h.ID)
	if err != nil || got.Token != "" || got.URL != "" {
		t.Fatalf("get: %+v %v", got, err)
	}
	l, err := s.client.Webhooks(ctx)
	if err != nil || len(l) != 1 || l[0].Token != "" {
		t.Fatalf("list: %+v %v", l, err)
	}
	stored, err := s.m.Store.Webhook(ctx, runbooker.DefaultTenant, h.ID)
	if err != nil || stored.TokenHash != runbooker.HashSecret(h.Token) {
		t.Fatalf("stored %+v %v", stored, err)
	}

	st, _, body := webhookPost(t, h.URL, `{"user":"ada@contoso.com"}`,
		map[string]string{"X-Trace": "trace-42", "Authorization": "Bearer s3cret", "Cookie": "sid=x"})
	if st != http.StatusAccepted {
		t.Fatalf("call: %d %s", st, body)
	}
	var resp rbhttp.WebhookCallResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.JobIds) != 1 {
		t.Fatalf("call answered %s", body)
	}
	j := s.waitJob(resp.JobIds[0])
	if j.Status != runbooker.StatusCompleted || j.Caller != "webhook onboarding" {
		t.Errorf("job %s, caller %q", j.Status, j.Caller)
	}
	recs, err := s.m.Store.Streams(ctx, runbooker.DefaultTenant, j.ID, runbooker.StreamFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Text)
	}
	text := strings.Join(out, "\n")
	for _, want := range []string{"user=ada@contoso.com", "trace=trace-42", "name=onboarding", "auth=False"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}

	// A Bash runbook that declares nothing gets WebhookData as JSON.
	s.put("org_general_hook-bash", runbooker.LangBash, "#!/bin/bash\necho \"$1 $2\"\n")
	bh, err := s.client.CreateWebhook(ctx, rbhttp.WebhookRequest{Name: "bashhook", RunbookName: "org_general_hook-bash"})
	if err != nil {
		t.Fatal(err)
	}
	if st, _, body := webhookPost(t, bh.URL, "plain text", nil); st != http.StatusAccepted {
		t.Fatalf("bash call: %d %s", st, body)
	} else if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	bj := s.waitJob(resp.JobIds[0])
	brecs, _ := s.m.Store.Streams(ctx, runbooker.DefaultTenant, bj.ID, runbooker.StreamFilter{})
	if bj.Status != runbooker.StatusCompleted || len(brecs) == 0 || !strings.HasPrefix(brecs[0].Text, "--WebhookData {") ||
		!strings.Contains(brecs[0].Text, `"RequestBody":"plain text"`) || !strings.Contains(brecs[0].Text, `"WebhookName":"bashhook"`) {
		t.Errorf("bash job %s: %+v", bj.Status, brecs)
	}

	// Nothing on disk holds the token in plain text.
	files, _ := filepath.Glob(filepath.Join(s.m.Config.DataDir, "runbooker.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), h.Token) {
			t.Errorf("%s holds the webhook token in plain text", f)
		}
	}

	// The call is audited, without the token.
	entries, err := s.m.Store.ListAudit(ctx, runbooker.DefaultTenant, runbooker.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var called, created bool
	for _, e := range entries {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), h.Token) {
			t.Errorf("audit entry holds the token: %s", b)
		}
		switch e.Action {
		case "webhook.call":
			called = called || e.Surface == "webhook" && e.Actor == "webhook onboarding" && e.Object == h.ID
		case "webhook.create":
			created = true
		}
	}
	if !called || !created {
		t.Errorf("audit: call %v create %v in %+v", called, created, entries)
	}
}

func TestWebhookRefusals(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	s.put("org_general_hook-sh", runbooker.LangBash, "#!/bin/bash\n# @param Who string - who calls\necho hi\n")
	mk := func(name string) *rbhttp.WebhookView {
		t.Helper()
		h, err := s.client.CreateWebhook(ctx, rbhttp.WebhookRequest{Name: name, RunbookName: "org_general_hook-sh"})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	// Unknown, disabled and expired answer the same 404.
	unknownSt, _, unknownBody := webhookPost(t, s.url+"/webhooks/"+runbooker.NewSecret(), "{}", nil)
	off := mk("off")
	if _, err := s.client.UpdateWebhook(ctx, off.ID, rbhttp.WebhookRequest{Enabled: new(false)}); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := s.cli("webhook", "get", off.ID); code != 0 {
		t.Fatalf("cli get: %s", stderr)
	}
	offSt, _, offBody := webhookPost(t, off.URL, "{}", nil)
	old := mk("old")
	if st, _, b := webhookPost(t, old.URL, "{}", nil); st != http.StatusAccepted {
		t.Fatalf("before expiry: %d %s", st, b)
	}
	s.clock.Advance(366 * 24 * time.Hour)
	oldSt, _, oldBody := webhookPost(t, old.URL, "{}", nil)
	if unknownSt != 404 || offSt != 404 || oldSt != 404 || unknownBody != offBody || offBody != oldBody {
		t.Errorf("unknown %d %q, disabled %d %q, expired %d %q: want one 404 alike", unknownSt, unknownBody, offSt, offBody, oldSt, oldBody)
	}

	// Too large a body: 413 with a JSON error.
	big := mk("big")
	st, _, b := webhookPost(t, big.URL, `{"x":"`+strings.Repeat("a", rbhttp.MaxWebhookBody)+`"}`, nil)
	if st != http.StatusRequestEntityTooLarge || !strings.Contains(b, `"error"`) {
		t.Errorf("oversize: %d %s", st, b)
	}

	// The rate limit: a burst, then 429 with Retry-After.
	fast := mk("fast")
	var limited bool
	for i := 0; i < 15 && !limited; i++ {
		st, hdr, b := webhookPost(t, fast.URL, "{}", nil)
		switch st {
		case http.StatusAccepted:
		case http.StatusTooManyRequests:
			limited = hdr.Get("Retry-After") != "" && i >= 10
		default:
			t.Fatalf("call %d: %d %s", i, st, b)
		}
	}
	if !limited {
		t.Error("15 calls at once were never answered 429 with Retry-After after the burst of 10")
	}

	// Refusals are audited with their reason.
	entries, err := s.m.Store.ListAudit(ctx, runbooker.DefaultTenant, runbooker.AuditFilter{Action: "webhook.call.denied"})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, e := range entries {
		var d struct{ Reason string }
		_ = json.Unmarshal(e.Detail, &d)
		reasons[d.Reason] = true
	}
	for _, want := range []string{"disabled", "expired", "body too large", "rate limited"} {
		if !reasons[want] {
			t.Errorf("no audited refusal %q in %v", want, reasons)
		}
	}

	// A webhook is checked when saved, as a start would be.
	for _, c := range []struct {
		req  string
		want int
	}{
		{`{"name":"bad","runbookName":"org_general_no-such"}`, 404},
		{`{"name":"bad","runbookName":"org_general_hook-sh","parameters":{"Nope":1}}`, 400},
		{`{"name":"bad","runbookName":"org_general_hook-sh","runOn":"no-such-group"}`, 400},
		{`{"name":"bad","runbookName":"org_general_hook-sh","parameters":{"WebhookData":{}}}`, 400},
		{`{"name":"fast","runbookName":"org_general_hook-sh"}`, 409},
	} {
		if st, _, b := s.call("POST", "/api/v1/webhooks", s.cred, c.req); st != c.want {
			t.Errorf("create %s: %d %s, want %d", c.req, st, b, c.want)
		}
	}

	// The CLI: create prints the URL once, list and disable work through the API.
	code, out, stderr := s.cli("webhook", "create", "cli", "--runbook", "org_general_hook-sh", "--expires", "48h")
	if code != 0 || !strings.Contains(out, s.url+"/webhooks/") {
		t.Fatalf("cli create: %d %s %s", code, out, stderr)
	}
	code, out, stderr = s.cli("webhook", "list")
	if code != 0 || !strings.Contains(out, "cli") || strings.Contains(out, "/webhooks/") {
		t.Errorf("cli list: %d %s %s", code, out, stderr)
	}
	if code, out, stderr = s.cli("webhook", "disable", fast.ID); code != 0 || !strings.Contains(out, "disabled") {
		t.Errorf("cli disable: %d %s %s", code, out, stderr)
	}
	if code, _, stderr = s.cli("webhook", "delete", fast.ID); code != 0 {
		t.Errorf("cli delete: %s", stderr)
	}

	// The management API is for administrators only.
	op, secret, err := createCredential(ctx, s.m.Store, runbooker.DefaultTenant, "op", runbooker.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/webhooks", ""},
		{"POST", "/api/v1/webhooks", `{"name":"x","runbookName":"org_general_hook-sh"}`},
		{"GET", "/api/v1/webhooks/" + fast.ID, ""},
		{"PUT", "/api/v1/webhooks/" + fast.ID, `{"enabled":false}`},
		{"DELETE", "/api/v1/webhooks/" + fast.ID, ""},
	} {
		if st, _, b := s.call(c.method, c.path, op.ID+":"+secret, c.body); st != http.StatusForbidden {
			t.Errorf("operator %s %s: %d %s", c.method, c.path, st, b)
		}
	}

	// The webhook is judged as an unbound operator credential: the
	// tenant's disabled patterns refuse its jobs.
	retired := mk("retired")
	if err := s.client.PutSetting(ctx, "permissions", []byte(`{"DisabledRunbookPatterns": ["org_general_hook*"]}`)); err != nil {
		t.Fatal(err)
	}
	if st, _, b := webhookPost(t, retired.URL, "{}", nil); st != http.StatusForbidden {
		t.Errorf("a disabled runbook's webhook: %d %s, want 403", st, b)
	}
	denied, err := s.m.Store.ListAudit(ctx, runbooker.DefaultTenant, runbooker.AuditFilter{Action: "webhook.call.denied"})
	if err != nil || len(denied) == 0 || denied[len(denied)-1].Object != retired.ID {
		t.Errorf("the refused job is not audited: %v", err)
	}
}
