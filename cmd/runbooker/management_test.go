package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

func TestManagementRunbookLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	rb := s.put("user_general_greet", runbooker.LangPython, pyGreet)
	if rb.Scope != "user" || rb.Category != "general" || rb.DisplayName != "Greet" || rb.Language != runbooker.LangPython {
		t.Errorf("put answered %+v", rb)
	}
	v1 := rb.Version
	if v1 != runbooker.ContentHash([]byte(pyGreet)) {
		t.Errorf("version %s is not the content hash", v1)
	}
	got, err := s.client.Runbook(ctx, "user_general_greet")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Parameters) != 3 || got.Parameters[0].Name != "Name" || !got.Parameters[0].Mandatory || got.Synopsis != "Greet someone." {
		t.Errorf("metadata: %+v", got)
	}
	if got.Form == nil {
		t.Error("no form in GET runbook")
	}
	// A job keeps the exact source it ran even after the runbook changes.
	resp := s.runJSON("user_general_greet", map[string]any{"Name": "x"})
	s.put("user_general_greet", runbooker.LangPython, pyGreet+"\n# v2\n")
	st, h, body := s.call("GET", "/api/v1/jobs/"+resp.JobID+"/source", s.cred, "")
	if st != 200 || body != pyGreet || h.Get("X-Runbook-Version") != v1 {
		t.Errorf("job source after update: %d version %s", st, h.Get("X-Runbook-Version"))
	}
	s.put("org_net_ping", runbooker.LangBash, "#!/bin/bash\necho pong\n")
	for q, want := range map[string]string{"": "org_net_ping,user_general_greet", "?scope=user": "user_general_greet", "?search=PING": "org_net_ping", "?category=net": "org_net_ping"} {
		st, _, body := s.call("GET", "/api/v1/runbooks"+q, s.cred, "")
		var out struct{ Runbooks []rbhttp.RunbookView }
		_ = json.Unmarshal([]byte(body), &out)
		var names []string
		for _, r := range out.Runbooks {
			names = append(names, r.Name)
		}
		if st != 200 || strings.Join(names, ",") != want {
			t.Errorf("list%s: %d %v want %s", q, st, names, want)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"/api/v1/runbooks/org_net_x?language=cobol", "language"},
		{"/api/v1/runbooks/Not-A-Name?language=bash", "Not-A-Name"},
	} {
		if st, _, body := s.call("PUT", c.path, s.cred, "echo"); st != 400 || !strings.Contains(body, c.want) {
			t.Errorf("PUT %s: %d %s", c.path, st, body)
		}
	}
	if err := s.client.DeleteRunbook(ctx, "org_net_ping"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Runbook(ctx, "org_net_ping"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("deleted runbook: %v", err)
	}
	if err := s.client.DeleteRunbook(ctx, "org_net_ping"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("second delete: %v", err)
	}
}

func TestManagementJobListingAndPagination(t *testing.T) {
	s := startServer(t)
	s.put("org_general_ok", runbooker.LangBash, "#!/bin/bash\necho ok\n")
	s.put("org_general_bad", runbooker.LangBash, "#!/bin/bash\nexit 1\n")
	var ids []string
	for i := 0; i < 7; i++ {
		name := "org_general_ok"
		if i%3 == 0 {
			name = "org_general_bad"
		}
		ids = append(ids, s.runJSON(name, nil).JobID)
	}
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		q := url.Values{"limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page, err := s.client.Jobs(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, j := range page.Jobs {
			if seen[j.ID] {
				t.Errorf("job %s listed twice", j.ID)
			}
			seen[j.ID] = true
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(seen) != 7 || pages != 3 {
		t.Errorf("paginated %d jobs in %d pages", len(seen), pages)
	}
	page, err := s.client.Jobs(context.Background(), url.Values{"status": {"Failed"}, "runbook": {"org_general_bad"}})
	if err != nil || len(page.Jobs) != 3 {
		t.Fatalf("filtered: %v %d", err, len(page.Jobs))
	}
	if page.Jobs[0].ID != ids[6] {
		t.Errorf("newest first: got %s want %s", page.Jobs[0].ID, ids[6])
	}
	for _, q := range []string{"?status=Sleeping", "?limit=0", "?limit=x", "?createdAfter=soon"} {
		if st, _, body := s.call("GET", "/api/v1/jobs"+q, s.cred, ""); st != 400 {
			t.Errorf("jobs%s: %d %s", q, st, body)
		}
	}
	// Tailing by sequence number.
	j, err := s.client.Job(context.Background(), ids[1])
	if err != nil || j.Status != runbooker.StatusCompleted || j.Caller != "tester" || j.Attempt != 1 {
		t.Fatalf("job get: %v %+v", err, j)
	}
	status, recs, err := s.client.JobStreams(context.Background(), ids[1], 0)
	if err != nil || status != runbooker.StatusCompleted || len(recs) != 1 || recs[0].Text != "ok" {
		t.Fatalf("streams: %v %s %+v", err, status, recs)
	}
	_, recs, _ = s.client.JobStreams(context.Background(), ids[1], recs[0].Seq)
	if len(recs) != 0 {
		t.Errorf("after last seq: %d records", len(recs))
	}
}

// grandchildPID reads the pid a runbook printed as "pid N".
func grandchildPID(t *testing.T, s *server, jobID string) int {
	t.Helper()
	var pid int
	eventually(t, 10*time.Second, "the runbook to print its child's pid", func() bool {
		_, recs, err := s.client.JobStreams(context.Background(), jobID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if n, ok := strings.CutPrefix(r.Text, "pid "); ok {
				pid, _ = strconv.Atoi(n)
				return true
			}
		}
		return false
	})
	return hostPID(t, pid)
}

// hostPID maps the pid a runbook printed to the host's pid of that
// process: an isolated job has a PID namespace of its own, where the pid of
// its background "sleep 1000" is small. It looks for a sleep 1000 whose
// innermost pid (the last NSpid field) is pid.
func hostPID(t *testing.T, pid int) int {
	t.Helper()
	files, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(strings.TrimPrefix(line, "NSpid:"))
			if !strings.HasPrefix(line, "NSpid:") || len(fields) == 0 || fields[len(fields)-1] != strconv.Itoa(pid) {
				continue
			}
			cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(f), "cmdline"))
			if string(cmd) == "sleep\x001000\x00" {
				host, _ := strconv.Atoi(fields[0])
				return host
			}
		}
	}
	t.Fatalf("no sleep 1000 with pid %d in its namespace", pid)
	return 0
}

const sleeperScript = "#!/bin/bash\nsleep 1000 &\necho \"pid $!\"\nwait\n"

func TestStopKillsTheWholeProcessTree(t *testing.T) {
	s := startServer(t)
	s.put("org_general_sleeper", runbooker.LangBash, sleeperScript)
	resp, err := s.client.Start(context.Background(), "org_general_sleeper", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	pid := grandchildPID(t, s, resp.JobID)
	code, out, errOut := s.cli("job", "stop", resp.JobID)
	if code != 0 {
		t.Fatalf("job stop: %d %s %s", code, out, errOut)
	}
	j := s.waitJob(resp.JobID)
	if j.Status != runbooker.StatusStopped {
		t.Errorf("stopped job is %s", j.Status)
	}
	eventually(t, 5*time.Second, "the background sleep to die", func() bool { return processGone(pid) })
	// Stopping a queued job needs no worker; stopping twice is harmless.
	j2, err := s.client.StopJob(context.Background(), resp.JobID)
	if err != nil || j2.Status != runbooker.StatusStopped {
		t.Errorf("second stop: %v %s", err, j2.Status)
	}
	if _, err := s.client.ResumeJob(context.Background(), resp.JobID); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("resume of a stopped job: %v", err)
	}
}

func TestRuntimeLimitKillsTheWholeProcessTree(t *testing.T) {
	s := startServer(t, func(c *ServeConfig) { c.MaxRuntime = 1500 * time.Millisecond })
	s.put("org_general_sleeper", runbooker.LangBash, sleeperScript)
	resp, err := s.client.Start(context.Background(), "org_general_sleeper", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	pid := grandchildPID(t, s, resp.JobID)
	j := s.waitJob(resp.JobID)
	if j.Status != runbooker.StatusFailed || !strings.Contains(j.Exception, "limit") {
		t.Errorf("timed-out job: %s %q", j.Status, j.Exception)
	}
	eventually(t, 5*time.Second, "the background sleep to die", func() bool { return processGone(pid) })
}

func TestOutputCapAddsAWarning(t *testing.T) {
	s := startServer(t, func(c *ServeConfig) { c.OutputCap = 10000 })
	s.put("org_general_chatty", runbooker.LangBash, "#!/bin/bash\nfor i in $(seq 1 5000); do echo \"line number $i\"; done\n")
	resp := s.runJSON("org_general_chatty", nil)
	if resp.Status != "Completed" {
		t.Fatalf("status %s", resp.Status)
	}
	kept := 0
	for _, r := range resp.Streams {
		kept += len(r.Summary)
	}
	last := resp.Streams[len(resp.Streams)-1]
	if last.StreamType != "Warning" || !strings.Contains(last.Summary, "dropped") {
		t.Errorf("last record is %s %q, want a Warning about dropped output", last.StreamType, last.Summary)
	}
	if kept > 10000+len(last.Summary) || len(resp.Streams) < 100 {
		t.Errorf("kept %d bytes in %d records with a cap of 10000", kept, len(resp.Streams))
	}
}

func TestJobEnvironmentIsScrubbed(t *testing.T) {
	masterKey := base64.StdEncoding.EncodeToString([]byte("server-secret-value-32-bytes-xxx")) // valid: serve loads it
	t.Setenv("RUNBOOKER_MASTER_KEY", masterKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "another-secret")
	s := startServer(t)
	s.put("org_general_env", runbooker.LangBash, "#!/bin/bash\nenv\npwd\n")
	resp := s.runJSON("org_general_env", nil)
	all := ""
	for _, r := range resp.Streams {
		all += r.Summary + "\n"
	}
	for _, secret := range []string{masterKey, "another-secret", "RUNBOOKER_"} {
		if strings.Contains(all, secret) {
			t.Errorf("job environment leaks %q:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "PATH=") {
		t.Errorf("job has no PATH:\n%s", all)
	}
}
