package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// unicodeSource answers every asset with a value outside ASCII and keeps
// what a job sets.
type unicodeSource struct{ set json.RawMessage }

func (s *unicodeSource) Asset(context.Context, *runbooker.Job, runbooker.AssetType, string) (json.RawMessage, bool, error) {
	return json.RawMessage(`"Grüße aus Köln – ✓"`), false, nil
}

func (s *unicodeSource) SetVariable(_ context.Context, _ *runbooker.Job, _ string, v json.RawMessage) error {
	s.set = v
	return nil
}

func (s *unicodeSource) IdentityToken(context.Context, *runbooker.Job, runbooker.IdentityRequest) (*runbooker.IdentityToken, error) {
	return nil, runbooker.Errorf(runbooker.EINVALID, "none")
}

// TestChannelSpeaksUTF8 (issue 14, 1.5): Windows PowerShell 5.1 reads JSON
// without a charset as ISO-8859-1, so the channel names UTF-8 on every
// answer, and a value outside ASCII survives the round trip both ways.
func TestChannelSpeaksUTF8(t *testing.T) {
	src := &unicodeSource{}
	ch, err := OpenChannel(src, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	env, bind, revoke := ch.Open(&runbooker.Job{ID: "job-utf8"}, nil)
	defer revoke()
	bind(os.Getpid()) // this process stands in for the job's first process
	do := func(method, path, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, env[EnvAssetURL]+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+env[EnvAssetToken])
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := do("GET", "/assets/variable/Greeting", "")
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/json; charset=utf-8" {
		t.Errorf("GET: %d, Content-Type %q", resp.StatusCode, ct)
	}
	if !strings.Contains(body, "Grüße aus Köln – ✓") {
		t.Errorf("the value came back as %q", body)
	}
	resp, body = do("PUT", "/assets/variable/Greeting", `{"value": "Ærø – ✓"}`)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(src.set), "Ærø – ✓") {
		t.Errorf("the stored value is %s", src.set)
	}
}

// A job's process may ask the channel before the sandbox has reported its
// pid: the request waits for the pid instead of being refused, and one that
// comes while no process ever starts is refused once the wait is over.
func TestChannelRequestWaitsForTheJobsStart(t *testing.T) {
	ch, err := OpenChannel(&unicodeSource{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	get := func(env map[string]string) (int, string) {
		req, _ := http.NewRequest("GET", env[EnvAssetURL]+"/assets/variable/Greeting", nil)
		req.Header.Set("Authorization", "Bearer "+env[EnvAssetToken])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	env, bind, revoke := ch.Open(&runbooker.Job{ID: "job-early"}, nil)
	defer revoke()
	go func() {
		time.Sleep(50 * time.Millisecond)
		bind(os.Getpid()) // this process stands in for the job's first process
	}()
	if st, body := get(env); st != 200 {
		t.Fatalf("a request just before the pid was known: %d %s", st, body)
	}

	defer func(d time.Duration) { bindWait = d }(bindWait)
	bindWait = 20 * time.Millisecond
	env2, _, revoke2 := ch.Open(&runbooker.Job{ID: "job-never"}, nil)
	defer revoke2()
	if st, body := get(env2); st == 200 || !strings.Contains(body, "not usable before its job started") {
		t.Fatalf("a request for a job that never started: %d %s", st, body)
	}
}
