package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/sandbox"
)

// TestMain lets the test binary act as the runbooker binary: end-to-end
// tests that need a real server process (kill -9) re-execute it.
func TestMain(m *testing.M) {
	sandbox.EnterMountNamespace()
	if os.Getenv("RUNBOOKER_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// server is a control plane running in the test process.
type server struct {
	t      *testing.T
	m      *Main
	clock  *testClock // the server's clock: advance it instead of sleeping
	cancel func()     // ends the context m runs in; nil once m is closed
	url    string
	cred   string
	client *rbhttp.Client
}

// testClock is the wall clock plus an offset that tests advance: time goes
// on as usual (leases, timers and processes still run in real time), and a
// test that needs time to have passed moves it forward at once.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the clock's time; pass the method as a runbooker.Clock.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// startServer runs a control plane in the test process.
//
// Tests that start one do not call t.Parallel: as root, every Main sets up
// its jobs' jail in the one mount namespace of the test binary (a real
// server has one of its own), and two at once left each other's data
// directories busy ("device or resource busy" when t.TempDir is removed).
func startServer(t *testing.T, mutate ...func(*ServeConfig)) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := ServeConfig{
		Listen: "127.0.0.1:0", DataDir: dir, DB: "sqlite:" + dir + "/runbooker.db", RunWait: time.Minute,
		LeaseTTL: 30 * time.Second, Retention: time.Hour, CloudCapacity: 4, MaxRuntime: time.Minute,
		OutputCap: 1 << 20, Drain: 5 * time.Second,
	}
	for _, f := range mutate {
		f(&cfg)
	}
	s := &server{t: t, clock: &testClock{}}
	s.start(cfg)
	t.Cleanup(s.stop)
	c, secret, err := createCredential(context.Background(), s.m.Store, runbooker.DefaultTenant, "tester", runbooker.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	s.cred = c.ID + ":" + secret
	s.client, err = rbhttp.NewClient(s.url, s.cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs a control plane on cfg and s's clock.
func (s *server) start(cfg ServeConfig) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := &Main{Config: cfg, Clock: s.clock.Now}
	if err := m.Run(ctx); err != nil {
		cancel()
		_ = m.Close()
		s.t.Fatalf("starting server: %v", err)
	}
	s.m, s.url, s.cancel = m, m.URL(), cancel
}

// stop shuts the control plane down as `serve` does on SIGTERM: the
// context Run was given ends, then Close. start brings it back on the same
// data (and, with a fixed Listen, address).
func (s *server) stop() {
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
		_ = s.m.Close()
	}
}

// put uploads a runbook or fails the test.
func (s *server) put(name string, lang runbooker.Language, src string) *rbhttp.RunbookView {
	s.t.Helper()
	rb, err := s.client.PutRunbook(context.Background(), name, lang, []byte(src))
	if err != nil {
		s.t.Fatalf("put %s: %v", name, err)
	}
	return rb
}

// call does a raw HTTP request and returns status, headers and body.
func (s *server) call(method, path, cred, body string) (int, http.Header, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if cred != "" {
		id, secret, _ := strings.Cut(cred, ":")
		req.SetBasicAuth(id, secret)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// runJSON runs a runbook synchronously through the external API.
func (s *server) runJSON(name string, params map[string]any) rbhttp.RunResponse {
	s.t.Helper()
	b, _ := json.Marshal(params)
	st, _, body := s.call("POST", "/api/external/runbook/"+name+"/run", s.cred, string(b))
	if st != 200 {
		s.t.Fatalf("run %s: %d %s", name, st, body)
	}
	var out rbhttp.RunResponse
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		s.t.Fatalf("run %s: %v in %s", name, err, body)
	}
	return out
}

// waitJob polls a job until it is terminal.
func (s *server) waitJob(id string) *runbooker.Job {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := s.m.Engine.Wait(ctx, runbooker.DefaultTenant, id)
	if err != nil {
		s.t.Fatal(err)
	}
	if !j.Status.Terminal() {
		s.t.Fatalf("job %s still %s after 30s", id, j.Status)
	}
	return j
}

// cli runs a CLI command in-process against this server.
func (s *server) cli(args ...string) (int, string, string) {
	s.t.Helper()
	return s.cliStdin("", args...)
}

// cliStdin runs a CLI command in-process with stdin as its standard input.
func (s *server) cliStdin(stdin string, args ...string) (int, string, string) {
	s.t.Helper()
	s.t.Setenv("RUNBOOKER_SERVER", s.url)
	s.t.Setenv("RUNBOOKER_CREDENTIAL", s.cred)
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
