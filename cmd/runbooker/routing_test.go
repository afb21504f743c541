package main

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

func TestRoutingDefaultGroupHybridSuffixAndStarvation(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	g, err := s.client.CreateGroup(ctx, rbhttp.GroupView{Name: "onprem", DefaultHybrid: true, SuspendAfterSeconds: 1})
	if err != nil || g.Token == "" || !strings.HasPrefix(g.Token, "rbg_") {
		t.Fatalf("create group: %v %+v", err, g)
	}
	if _, err := s.client.CreateGroup(ctx, rbhttp.GroupView{Name: "Bad Name"}); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("bad group name: %v", err)
	}
	s.put("org_general_sync_hybrid", runbooker.LangBash, "#!/bin/bash\necho on-prem\n")
	if _, err := s.client.PutRunbook(ctx, "org_general_pinned", runbooker.LangBash, []byte("echo")); err != nil {
		t.Fatal(err)
	}
	st, _, body := s.call("PUT", "/api/v1/runbooks/org_general_pinned?language=bash&defaultGroup=onprem", s.cred, "echo pinned")
	if st != 200 {
		t.Fatalf("pin: %d %s", st, body)
	}
	s.put("org_general_cloudy", runbooker.LangBash, "echo cloud\n")
	for name, want := range map[string]string{"org_general_sync_hybrid": "onprem", "org_general_pinned": "onprem", "org_general_cloudy": "cloud"} {
		resp, err := s.client.Start(ctx, name, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		j, _ := s.client.Job(ctx, resp.JobID)
		if j.RunOn != want {
			t.Errorf("%s routed to %s, want %s", name, j.RunOn, want)
		}
		if want == "onprem" && (j.Status != runbooker.StatusNew || !strings.Contains(j.StatusReason, "no worker")) {
			t.Errorf("%s waits as %s with reason %q", name, j.Status, j.StatusReason)
		}
	}
	// runOn wins over both.
	resp, _ := s.client.Start(ctx, "org_general_sync_hybrid", nil, "cloud")
	if j := s.waitJob(resp.JobID); j.RunOn != "cloud" || j.Status != runbooker.StatusCompleted {
		t.Errorf("runOn=cloud: %s %s", j.RunOn, j.Status)
	}
	// Past the group's SuspendAfter, jobs with no live worker are parked.
	s.clock.Advance(2 * time.Second) // the jobs must be older than SuspendAfter (1 s)
	n, err := s.m.Maint.SuspendStarved(ctx)
	if err != nil || n != 2 {
		t.Fatalf("suspended %d jobs (%v), want 2", n, err)
	}
	page, _ := s.client.Jobs(ctx, map[string][]string{"status": {"Suspended"}})
	if len(page.Jobs) != 2 || !strings.Contains(page.Jobs[0].StatusReason, "suspended after waiting") {
		t.Fatalf("suspended jobs: %+v", page.Jobs)
	}
	// Resume re-queues; a worker arriving now runs it.
	j, err := s.client.ResumeJob(ctx, page.Jobs[0].ID)
	if err != nil || j.Status != runbooker.StatusNew {
		t.Fatalf("resume: %v %+v", err, j)
	}
	startWorker(t, s.url, g.Token, t.TempDir())
	if j := s.waitJob(page.Jobs[0].ID); j.Status != runbooker.StatusCompleted {
		t.Errorf("resumed job: %s %s", j.Status, j.Exception)
	}
	// A rotated token stops working for new registrations.
	tok, err := s.client.RotateGroupToken(ctx, "onprem", rbhttp.TokenRequest{})
	if err != nil || tok.Token == g.Token {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := rbhttp.Register(ctx, s.url, nil, rbhttp.RegisterRequest{Token: g.Token}); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
		t.Errorf("old token still registers: %v", err)
	}
}

func TestRemoteStopAndLateWorker(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("freezing a worker needs SIGSTOP")
	}
	s := startServer(t, func(c *ServeConfig) { c.LeaseTTL = 2 * time.Second })
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	w1 := startWorker(t, s.url, token, t.TempDir())
	w1.id(t)
	waitWorkersOnline(t, s.client, "onprem", 1)
	ctx := context.Background()
	s.put("org_general_sleeper", runbooker.LangBash, sleeperScript)

	// A stop reaches the remote worker within a heartbeat; the tree dies.
	resp, _ := s.client.Start(ctx, "org_general_sleeper", nil, "onprem")
	pid := grandchildPID(t, s, resp.JobID)
	t0 := time.Now()
	if _, err := s.client.StopJob(ctx, resp.JobID); err != nil {
		t.Fatal(err)
	}
	if j := s.waitJob(resp.JobID); j.Status != runbooker.StatusStopped {
		t.Errorf("remote stop: %s", j.Status)
	}
	t.Logf("remote stop took %v (heartbeat 500ms)", time.Since(t0))
	eventually(t, 5*time.Second, "the remote job's background sleep to die", func() bool { return processGone(pid) })

	// A worker frozen past its lease loses the job to another worker; when
	// it wakes, the server answers 409 and it kills its copy.
	resp, _ = s.client.Start(ctx, "org_general_sleeper", nil, "onprem")
	pid = grandchildPID(t, s, resp.JobID)
	w1.signal(sigStop)
	w2 := startWorker(t, s.url, token, t.TempDir())
	id2 := w2.id(t)
	// The frozen worker's last long poll may still be parked on the server
	// when the rescuer queues the job again, and take it (attempt 2) before
	// its lease runs out once more: the second worker then gets attempt 3.
	var last *runbooker.Job
	defer func() {
		if t.Failed() && last != nil {
			t.Logf("the job was last seen %s, attempt %d, worker %s (second worker %s)", last.Status, last.Attempt, last.WorkerID, id2)
		}
	}()
	eventually(t, 30*time.Second, "the job to move to the second worker", func() bool {
		last, _ = s.client.Job(ctx, resp.JobID)
		return last != nil && last.WorkerID == id2 && last.Attempt >= 2 && last.Status == runbooker.StatusRunning
	})
	w1.signal(sigCont)
	eventually(t, 10*time.Second, "the late worker to kill its copy", func() bool { return processGone(pid) })
	if _, err := s.client.StopJob(ctx, resp.JobID); err != nil {
		t.Fatal(err)
	}
	if j := s.waitJob(resp.JobID); j.Status != runbooker.StatusStopped || j.Attempt < 2 {
		t.Errorf("second attempt: %s attempt %d", j.Status, j.Attempt)
	}
	eventually(t, 10*time.Second, "the late worker to report losing its lease", func() bool {
		return strings.Contains(w1.log.String(), "lease lost")
	})
}

func TestGroupSettingsUpdateIsValidated(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	if _, err := s.client.CreateGroup(ctx, rbhttp.GroupView{Name: "win", PowerShell: "pwsh"}); err != nil {
		t.Fatal(err)
	}
	st, _, body := s.call("PUT", "/api/v1/groups/win", s.cred, `{"powershell":"cmd.exe"}`)
	if st != 400 || !strings.Contains(body, "powershell") {
		t.Errorf("bad edition: %d %s", st, body)
	}
	st, _, body = s.call("PUT", "/api/v1/groups/win", s.cred, `{"powershell":"powershell","maxRuntimeSeconds":60,"runAs":"svc"}`)
	if st != 200 {
		t.Fatalf("update: %d %s", st, body)
	}
	g, err := s.client.Group(ctx, "win")
	if err != nil || g.PowerShell != "powershell" || g.MaxRuntimeSeconds != 60 || g.RunAs != "svc" {
		t.Errorf("after update: %v %+v", err, g)
	}
	if st, _, _ := s.call("PUT", "/api/v1/groups/nope", s.cred, `{}`); st != 404 {
		t.Errorf("update of a missing group: %d", st)
	}
}
