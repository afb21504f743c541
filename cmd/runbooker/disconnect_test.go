package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// A synchronous run whose client goes away keeps running to its end; and a
// run past the server's wait limit answers 202 with the job id.
func TestRunSurvivesClientDisconnectAndAnswers202PastTheWaitLimit(t *testing.T) {
	s := startServer(t, func(c *ServeConfig) { c.RunWait = 300 * time.Millisecond })
	s.put("org_general_slow", runbooker.LangBash, "#!/bin/bash\nsleep 1\necho survived\n")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.url+"/runbook/org_general_slow/run", strings.NewReader("{}"))
	id, secret, _ := strings.Cut(s.cred, ":")
	req.SetBasicAuth(id, secret)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the client was expected to give up first")
	}
	var jobID string
	eventually(t, 5*time.Second, "the job to appear", func() bool {
		page, err := s.client.Jobs(context.Background(), url.Values{"runbook": {"org_general_slow"}})
		if err == nil && len(page.Jobs) == 1 {
			jobID = page.Jobs[0].ID
		}
		return jobID != ""
	})
	if j := s.waitJob(jobID); j.Status != runbooker.StatusCompleted {
		t.Fatalf("abandoned run ended %s", j.Status)
	}
	if out, _ := s.client.OutputText(context.Background(), jobID); out != "survived\n" {
		t.Errorf("output %q", out)
	}
	st, _, body := s.call("POST", "/api/external/runbook/org_general_slow/run", s.cred, "{}")
	if st != 202 || !strings.Contains(body, `"jobID"`) || strings.Contains(body, "Completed") {
		t.Errorf("run past the wait limit: %d %s", st, body)
	}
	// The CLI follows such a job to its end.
	code, out, errOut := s.cli("run", "org_general_slow")
	if code != 0 || out != "survived\n" {
		t.Errorf("CLI run past the wait limit: %d %q %q", code, out, errOut)
	}
}
