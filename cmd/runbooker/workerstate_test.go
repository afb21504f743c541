package main

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// workerView returns the one worker of group as the API lists it.
func workerView(t *testing.T, c *rbhttp.Client, group string) rbhttp.WorkerView {
	t.Helper()
	ws, err := c.Workers(context.Background(), group)
	if err != nil || len(ws) != 1 {
		t.Fatalf("workers of %s: %v %+v", group, err, ws)
	}
	return ws[0]
}

// A worker stopped with SIGTERM says so: draining while it finishes its job,
// stopped (not online) as soon as it exits, and a job queued for its group
// says why it waits.
func TestStoppedWorkerIsShownStoppedAtOnce(t *testing.T) {
	s := startServer(t)
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	w := startWorker(t, s.url, token, t.TempDir(), "--drain", "30s")
	w.id(t)
	waitWorkersOnline(t, s.client, "onprem", 1)
	if v := workerView(t, s.client, "onprem"); v.Status != "online" || !slices.Contains(v.Languages, runbooker.LangBash) {
		t.Fatalf("a running worker: status %q languages %v", v.Status, v.Languages)
	}
	ctx := context.Background()
	s.put("org_general_slow", runbooker.LangBash, "#!/bin/bash\necho started\nsleep 2\necho done\n")
	resp, err := s.client.Start(ctx, "org_general_slow", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the job to run", func() bool {
		j, err := s.client.Job(ctx, resp.JobID)
		return err == nil && j.Status == runbooker.StatusRunning
	})
	w.signal(syscall.SIGTERM)
	eventually(t, 5*time.Second, "the worker to be shown draining", func() bool {
		v := workerView(t, s.client, "onprem")
		return v.Status == "draining" || v.Status == "stopped"
	})
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not exit after SIGTERM")
	}
	if j := s.waitJob(resp.JobID); j.Status != runbooker.StatusCompleted {
		t.Errorf("the job the worker drained: %s %q", j.Status, j.Exception)
	}
	// At once, not after the online window.
	if v := workerView(t, s.client, "onprem"); v.Status != "stopped" || v.Online {
		t.Errorf("a worker that exited: status %q online %v", v.Status, v.Online)
	}
	code, out, errOut := s.cli("group", "list")
	if code != 0 || !strings.Contains(out, "stopped") {
		t.Errorf("group list: %d %q %q", code, out, errOut)
	}
	queued, err := s.client.Start(ctx, "org_general_slow", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.client.Job(ctx, queued.JobID)
	if err != nil || j.Status != runbooker.StatusNew || !strings.Contains(j.StatusReason, "no live worker in group onprem") ||
		!strings.Contains(j.StatusReason, "stopped: ") {
		t.Errorf("a job queued for a group whose worker stopped: %v %s %q", err, j.Status, j.StatusReason)
	}
}
