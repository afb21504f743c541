package http

import (
	"net/http"
	"testing"
	"time"
)

func TestHookLimiterBucket(t *testing.T) {
	l := newHookLimiter()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range hookBurst {
		if d := l.take("a", t0); d != 0 {
			t.Fatalf("call %d of the burst refused (%v)", i, d)
		}
	}
	if d := l.take("a", t0); d <= 0 || d > hookEvery {
		t.Fatalf("call after the burst: wait %v, want (0, %v]", d, hookEvery)
	}
	if d := l.take("b", t0); d != 0 {
		t.Fatal("another webhook shares the bucket")
	}
	if d := l.take("a", t0.Add(hookEvery)); d != 0 {
		t.Fatalf("a second later: wait %v, want a token", d)
	}
	if d := l.take("a", t0.Add(hookEvery)); d == 0 {
		t.Fatal("one token a second, not two")
	}
}

func TestWebhookHeadersDropCredentials(t *testing.T) {
	h := http.Header{}
	for _, k := range []string{"Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key", "X-Github-Token", "X-Trace", "Content-Type"} {
		h.Set(k, "v")
	}
	got := webhookHeaders(h)
	for _, k := range []string{"Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key", "X-Github-Token"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s reaches the runbook", k)
		}
	}
	if len(got) != 2 {
		t.Errorf("kept %v, want X-Trace and Content-Type", got)
	}
}
