package http

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/sqlite"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// throttleEnv is a server on loopback whose clients may come from any
// 127.0.0.0/8 address.
type throttleEnv struct {
	t     *testing.T
	ctx   context.Context
	srv   *Server
	eng   *engine.Engine
	st    *sqlite.DB
	url   string
	clock *testClock
	mu    sync.Mutex
	cs    map[string]*http.Client
}

func newThrottleEnv(t *testing.T, cfg ThrottleConfig) *throttleEnv {
	t.Helper()
	ctx := context.Background()
	st := testStore(t)
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(st, engine.Config{Now: clock.now}, quiet)
	srv := NewServer(eng, Config{Throttle: cfg}, quiet)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &throttleEnv{t: t, ctx: ctx, srv: srv, eng: eng, st: st, url: ts.URL, clock: clock, cs: map[string]*http.Client{}}
}

// client returns an HTTP client whose connections start at source address ip.
func (e *throttleEnv) client(ip string) *http.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.cs[ip]; ok {
		return c
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	e.t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	e.cs[ip] = c
	return c
}

func (e *throttleEnv) credential(role runbooker.Role) (id, secret string) {
	e.t.Helper()
	return testCredential(e.t, e.st, role, e.clock.now())
}

// call sends method path from ip with Basic id:secret and returns the
// status and Retry-After.
func (e *throttleEnv) call(ip, method, path, id, secret, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	resp, err := e.client(ip).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// TestSignInThrottle (issue 11 item 7): wrong secrets are answered 429 with
// Retry-After once an address, an (address, credential) pair or, from
// everywhere, a credential has failed too often, on the external API, the
// management API and the worker protocol; valid callers that signed in
// from their address before keep working, and the tables stay bounded.
func TestSignInThrottle(t *testing.T) {
	e := newThrottleEnv(t, ThrottleConfig{MaxKeys: 200})
	version := func(ip, id, secret string) (int, string) {
		return e.call(ip, "GET", "/api/v1/version", id, secret, "")
	}
	external := func(ip, id, secret string) (int, string) {
		return e.call(ip, "GET", "/runbook/jobs/nosuchjob/status", id, secret, "")
	}
	admin, adminSecret := e.credential(runbooker.RoleAdmin)
	victim, victimSecret := e.credential(runbooker.RoleOperator)

	// The admin works from 127.0.0.1 and the victim from 127.0.0.3.
	if st, _ := version("127.0.0.1", admin, adminSecret); st != 200 {
		t.Fatalf("admin: %d", st)
	}
	if st, _ := external("127.0.0.3", victim, victimSecret); st != 404 {
		t.Fatalf("victim: %d", st)
	}

	// Spraying from 127.0.0.1: 30 wrong guesses are answered, then 429.
	for i := range 30 {
		if st, _ := external("127.0.0.1", fmt.Sprintf("guess%d", i), "wrong"); st != 401 {
			t.Fatalf("guess %d: %d, want 401", i, st)
		}
	}
	st, retry := external("127.0.0.1", "guess30", "wrong")
	if st != 429 || retry != "2" {
		t.Fatalf("guess 31 from the spraying address: %d Retry-After %q, want 429 and 2", st, retry)
	}
	// A credential never used from there waits too (its secret is not
	// even checked: the answer would tell guesses apart)...
	if st, _ := version("127.0.0.1", victim, victimSecret); st != 429 {
		t.Fatalf("victim from the spraying address: %d, want 429", st)
	}
	// ...but the admin, who signed in from there before, is not slowed.
	if st, _ := e.call("127.0.0.1", "GET", "/api/v1/groups", admin, adminSecret, ""); st != 200 {
		t.Fatalf("admin from the spraying address: %d, want 200", st)
	}
	// After Retry-After one more guess is answered.
	e.clock.add(2 * time.Second)
	if st, _ := external("127.0.0.1", "guess31", "wrong"); st != 401 {
		t.Fatalf("guess after Retry-After: %d, want 401", st)
	}

	// Guessing the victim's secret from 127.0.0.2: 10 tries, then 429 for
	// that pair, right secret or not...
	for i := range 10 {
		if st, _ := version("127.0.0.2", victim, "wrong"); st != 401 {
			t.Fatalf("victim guess %d: %d, want 401", i, st)
		}
	}
	if st, retry := version("127.0.0.2", victim, victimSecret); st != 429 || retry != "6" {
		t.Fatalf("victim from the guessing address: %d Retry-After %q, want 429 and 6", st, retry)
	}
	// ...while the victim from its own address is not locked out, and
	// another credential from the guessing address still works.
	if st, _ := external("127.0.0.3", victim, victimSecret); st != 404 {
		t.Fatalf("victim from its own address: %d, want 404 (signed in)", st)
	}
	if st, _ := version("127.0.0.2", admin, adminSecret); st != 200 {
		t.Fatalf("admin from the address guessing another credential: %d, want 200", st)
	}

	// Guessing from many addresses trips the per-credential backstop: a new
	// address waits, the victim's own does not.
	for a := 10; a < 20; a++ {
		for range 10 {
			version(fmt.Sprintf("127.0.0.%d", a), victim, "wrong")
		}
	}
	if st, _ := version("127.0.0.50", victim, victimSecret); st != 429 {
		t.Fatalf("victim from a new address during a wide attack: %d, want 429", st)
	}
	if st, _ := external("127.0.0.3", victim, victimSecret); st != 404 {
		t.Fatalf("victim from its own address during a wide attack: %d, want 404", st)
	}

	// The worker protocol: same rules for worker credentials.
	g := &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: "onprem"}
	token, err := e.eng.CreateGroup(e.ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	wk, wsecret, err := e.eng.Register(e.ctx, engine.RegisterParams{Token: token, Name: "w"})
	if err != nil {
		t.Fatal(err)
	}
	heartbeat := func(ip, secret string) (int, string) {
		return e.call(ip, "POST", "/api/worker/v1/heartbeat", wk.ID, secret, `{"refs":[]}`)
	}
	if st, _ := heartbeat("127.0.0.4", wsecret); st != 200 {
		t.Fatalf("worker: %d", st)
	}
	for i := range 10 {
		if st, _ := heartbeat("127.0.0.5", "wrong"); st != 401 {
			t.Fatalf("worker guess %d: %d, want 401", i, st)
		}
	}
	if st, retry := heartbeat("127.0.0.5", "wrong"); st != 429 || retry == "" {
		t.Fatalf("worker guess 11: %d Retry-After %q, want 429", st, retry)
	}
	if st, _ := heartbeat("127.0.0.4", wsecret); st != 200 {
		t.Fatalf("worker from its own address: %d, want 200", st)
	}

	// A flood of made-up ids from many addresses keeps every table at its
	// bound, and the pairs under attack are not the ones dropped.
	for i := range 600 {
		version(fmt.Sprintf("127.0.1.%d", i%250), "junk"+strconv.Itoa(i), "wrong")
	}
	// Ids as long as a header allows are kept as hashes.
	if st, _ := version("127.0.1.1", strings.Repeat("x", 100_000), "wrong"); st != 401 {
		t.Errorf("a 100 kB id: %d, want 401", st)
	}
	e.srv.throttle.mu.Lock()
	for k := range e.srv.throttle.cred.m {
		if len(k) > 65 {
			t.Errorf("a credential key of %d bytes is kept", len(k))
		}
	}
	sizes := []int{len(e.srv.throttle.addr.m), len(e.srv.throttle.pair.m), len(e.srv.throttle.cred.m), len(e.srv.throttle.good)}
	e.srv.throttle.mu.Unlock()
	for i, n := range sizes {
		if n > 200 {
			t.Errorf("table %d holds %d entries, more than the bound of 200", i, n)
		}
	}
	if st, _ := version("127.0.0.2", victim, victimSecret); st != 429 {
		t.Errorf("victim from the guessing address after the flood: %d, want 429 (the pair was evicted)", st)
	}

	// Once the pair's bucket drains, the victim may sign in from there again.
	e.clock.add(10 * time.Minute)
	if st, _ := version("127.0.0.2", victim, victimSecret); st != 200 {
		t.Errorf("victim from the guessing address 10 min later: %d, want 200", st)
	}
}

// TestRegistrationLimits (issue 11 item 8): a token set up with a maximum
// number of uses or an expiry (on create and on rotate-token) registers
// that many workers, until then; and registrations are rate-limited per
// address and per token (429 with Retry-After), so 200 at once no longer
// all succeed.
func TestRegistrationLimits(t *testing.T) {
	e := newThrottleEnv(t, ThrottleConfig{})
	admin, adminSecret := e.credential(runbooker.RoleAdmin)
	api, err := NewClient(e.url, admin+":"+adminSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := e.ctx
	register := func(ip, token string) (int, string) {
		return e.call(ip, "POST", "/api/worker/v1/register", "", "", `{"token":"`+token+`","name":"w"}`)
	}

	// At most 3 uses: of 10 concurrent registrations, 3 succeed.
	g, err := api.CreateGroup(ctx, GroupView{Name: "onprem", TokenMaxUses: 3, TokenExpiresAt: e.clock.now().Add(time.Hour)})
	if err != nil || g.Token == "" || g.TokenMaxUses != 3 || !g.TokenExpiresAt.Equal(e.clock.now().Add(time.Hour)) {
		t.Fatalf("create group with token limits: %+v, %v", g, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := register(fmt.Sprintf("127.0.2.%d", i), g.Token)
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 3 || statuses[401] != 7 {
		t.Fatalf("10 registrations with a 3-use token: %v, want 3×200 and 7×401", statuses)
	}
	got, err := api.Group(ctx, "onprem")
	if err != nil || got.TokenUses != 3 || got.TokenMaxUses != 3 {
		t.Fatalf("group after its token is used up: %+v, %v", got, err)
	}
	// A settings update keeps the token and its limits.
	got.Workers, got.Capacity = nil, 2
	if upd, err := api.UpdateGroup(ctx, *got); err != nil || upd.TokenMaxUses != 3 || upd.TokenUses != 3 {
		t.Fatalf("update: %+v, %v", upd, err)
	}
	if st, _ := register("127.0.2.50", g.Token); st != 401 {
		t.Fatalf("used-up token after a settings update: %d, want 401", st)
	}

	// Rotated with an expiry of 10 minutes: registers until then.
	tok, err := api.RotateGroupToken(ctx, "onprem", TokenRequest{TokenExpiresAt: e.clock.now().Add(10 * time.Minute)})
	if err != nil || tok.Token == "" || tok.TokenExpiresAt.IsZero() || tok.TokenMaxUses != 0 {
		t.Fatalf("rotate with an expiry: %+v, %v", tok, err)
	}
	if st, _ := register("127.0.3.1", tok.Token); st != 200 {
		t.Fatalf("new token: %d", st)
	}
	e.clock.add(10 * time.Minute)
	if st, _ := register("127.0.3.2", tok.Token); st != 401 {
		t.Fatalf("expired token: %d, want 401", st)
	}
	if _, err := api.RotateGroupToken(ctx, "onprem", TokenRequest{TokenExpiresAt: e.clock.now().Add(-time.Second)}); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("rotate with an expiry in the past: %v, want EINVALID", err)
	}
	if _, err := api.RotateGroupToken(ctx, "onprem", TokenRequest{TokenMaxUses: -1}); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Fatalf("rotate with negative uses: %v, want EINVALID", err)
	}

	// Without limits: 200 registrations at once from one address take the
	// burst of 20; the rest wait, told for how long.
	tok, err = api.RotateGroupToken(ctx, "onprem", TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	statuses = map[int]int{}
	retries := map[string]int{}
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, retry := register("127.0.4.1", tok.Token)
			mu.Lock()
			statuses[st]++
			retries[retry]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 20 || statuses[429] != 180 || retries["3"] != 180 {
		t.Fatalf("200 registrations at once: statuses %v, Retry-After %v; want 20×200 and 180×429 with Retry-After 3", statuses, retries)
	}
	// The same token from another address waits too (per token)...
	if st, retry := register("127.0.4.2", tok.Token); st != 429 || retry != "3" {
		t.Fatalf("same token, other address: %d %q, want 429 and 3", st, retry)
	}
	// ...while another group's token from there registers.
	other, err := api.CreateGroup(ctx, GroupView{Name: "dmz"})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := register("127.0.4.2", other.Token); st != 200 {
		t.Fatalf("another token from another address: %d, want 200", st)
	}
	// After Retry-After, one more.
	e.clock.add(3 * time.Second)
	if st, _ := register("127.0.4.1", tok.Token); st != 200 {
		t.Fatalf("after Retry-After: %d, want 200", st)
	}
	if st, _ := register("127.0.4.1", tok.Token); st != 429 {
		t.Fatalf("right after: %d, want 429", st)
	}
}
