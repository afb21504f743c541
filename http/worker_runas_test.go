package http

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
)

// A Windows worker claims nothing from a group with a RunAs user (it could
// only fail the jobs); a Linux worker of the same group does, and the
// Windows worker claims again once the group has none.
func TestWindowsWorkerClaimsNothingOfARunAsGroup(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(st, engine.Config{}, quiet)
	ts := httptest.NewServer(NewServer(eng, Config{}, quiet).Handler())
	t.Cleanup(ts.Close)

	g := &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: "onprem", RunAs: "svc-runbooks"}
	token, err := eng.CreateGroup(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	worker := func(os string) (*runbooker.Worker, *WorkerClient) {
		wk, secret, err := eng.Register(ctx, engine.RegisterParams{Token: token, Name: os + "-host", OS: os, Arch: "amd64"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewWorkerClient(ts.URL, wk.ID, secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Wait = 0
		return wk, c
	}
	_, winClient := worker("windows")
	_, linClient := worker("linux")

	_, err = winClient.Claim(ctx, 4)
	if runbooker.ErrorCode(err) != runbooker.EFORBIDDEN {
		t.Fatalf("a Windows worker's claim in a RunAs group: %v, want forbidden", err)
	}
	for _, want := range []string{`"onprem"`, `"svc-runbooks"`, "Windows worker", "--run-as"} {
		if !strings.Contains(runbooker.ErrorMessage(err), want) {
			t.Errorf("the refusal %q does not say %s", runbooker.ErrorMessage(err), want)
		}
	}
	if _, err := linClient.Claim(ctx, 4); err != nil {
		t.Errorf("a Linux worker's claim in the same group: %v", err)
	}

	g.RunAs = ""
	if err := eng.UpdateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := winClient.Claim(ctx, 4); err != nil {
		t.Errorf("the Windows worker's claim once the group has no RunAs: %v", err)
	}
}
