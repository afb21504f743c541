package main

import (
	"context"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// A runbook's "log verbose records" setting (issue 14, 1.12): on for a new
// runbook, set with PUT …?logVerbose=, kept by a PUT that does not mention
// it, and copied onto each job, which carries it to the worker.
func TestRunbookLogVerboseSetting(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	const path = "/api/v1/runbooks/org_general_quiet?language=bash"
	jobVerbose := func() bool {
		t.Helper()
		resp, err := s.client.Start(ctx, "org_general_quiet", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return s.waitJob(resp.JobID).LogVerbose
	}
	for _, step := range []struct {
		query, script string
		want          bool
	}{
		{"", "echo 1", true},
		{"&logVerbose=false", "echo 2", false},
		{"", "echo 3", false}, // not mentioned: kept
		{"&logVerbose=true", "echo 4", true},
	} {
		st, _, body := s.call("PUT", path+step.query, s.cred, step.script)
		if st != 200 && st != 201 {
			t.Fatalf("PUT%s: %d %s", step.query, st, body)
		}
		if want := `"logVerbose":` + map[bool]string{true: "true", false: "false"}[step.want]; !strings.Contains(body, want) {
			t.Errorf("PUT%s answered %s, want %s", step.query, body, want)
		}
		if got := jobVerbose(); got != step.want {
			t.Errorf("after PUT%s: job LogVerbose %v, want %v", step.query, got, step.want)
		}
	}
	if st, _, body := s.call("PUT", path+"&logVerbose=maybe", s.cred, "echo 5"); st != 400 || !strings.Contains(body, "logVerbose") {
		t.Errorf("logVerbose=maybe: %d %s", st, body)
	}
	rb, err := s.m.Engine.Store().Runbook(ctx, runbooker.DefaultTenant, "org_general_quiet")
	if err != nil || !rb.LogVerbose {
		t.Errorf("stored runbook after a refused PUT: %+v, %v", rb, err)
	}
}
