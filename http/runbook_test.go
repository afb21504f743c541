package http

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/engine"
)

// TestPutRunbookLimits: a runbook name past 128 characters, a script past
// the size limit and one declaring too many parameters are each a 400 whose
// message says which limit.
func TestPutRunbookLimits(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := NewServer(engine.New(st, engine.Config{}, quiet), Config{}, quiet)
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	credID, secret := testCredential(t, st, runbooker.RoleAdmin, time.Now())
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	put := func(name, script string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", ts.URL+"/api/v1/runbooks/"+name+"?language=bash", strings.NewReader(script))
		req.SetBasicAuth(credID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var params strings.Builder
	for i := range catalog.MaxParameters + 1 {
		fmt.Fprintf(&params, "# @param P%d int\n", i)
	}
	for _, c := range []struct {
		name, script string
		status       int
		want         string
	}{
		{"org_general_" + strings.Repeat("a", 116), "echo\n", 201, ""},
		{"org_general_" + strings.Repeat("a", 117), "echo\n", 400, "longer than the limit of 128"},
		{"org_general_" + strings.Repeat("a", 100_000), "echo\n", 400, "longer than the limit of 128"},
		{"org_general_big", "#!/bin/bash\n" + strings.Repeat("#", catalog.MaxScriptSize), 400, "larger than the limit of 2097152 bytes"},
		{"org_general_params", params.String(), 400, "more than the limit of 256"},
	} {
		st, body := put(c.name, c.script)
		if st != c.status || !strings.Contains(body, c.want) || len(body) > 1000 {
			t.Errorf("PUT %.40s…: %d %.300s; want %d containing %q", c.name, st, body, c.status, c.want)
		}
	}
}
