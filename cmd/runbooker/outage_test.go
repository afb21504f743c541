package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// outageSetup starts a server process with a worker group and a worker
// process, and a chatty runbook printing n numbered lines.
func outageSetup(t *testing.T, n int, pause string) (dir, addr, cred string, p *serverProcess, c *rbhttp.Client) {
	t.Helper()
	dir = t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"credential", "create", "--name", "ops", "--data", dir}, nil, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	cred = lines[len(lines)-1]
	out.Reset()
	if code := run(context.Background(), []string{"group", "create", "onprem", "--data", dir}, nil, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	lines = strings.Split(strings.TrimSpace(out.String()), "\n")
	token := lines[len(lines)-1]
	addr = freeAddr(t)
	p = startServerProcess(t, addr, dir, "--lease-ttl", "3s")
	c, _ = rbhttp.NewClient(p.url, cred, nil)
	script := fmt.Sprintf("#!/bin/bash\nfor i in $(seq 1 %d); do echo \"line $i\"; sleep %s; done\necho WARNING: all done\n", n, pause)
	if _, err := c.PutRunbook(context.Background(), "org_general_chatty", runbooker.LangBash, []byte(script)); err != nil {
		t.Fatal(err)
	}
	startWorker(t, p.url, token, t.TempDir())
	return dir, addr, cred, p, c
}

// checkChatty proves every line arrived once, in order, with no gap in the
// sequence numbers.
func checkChatty(t *testing.T, c *rbhttp.Client, id string, n int) {
	t.Helper()
	recs, err := c.OutputStreams(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n+1 {
		t.Fatalf("got %d records, want %d", len(recs), n+1)
	}
	for i, r := range recs[:n] {
		if r.Summary != fmt.Sprintf("line %d", i+1) || r.Seq != recs[0].Seq+int64(i) {
			t.Fatalf("record %d: seq %d %q", i, r.Seq, r.Summary)
		}
	}
	if last := recs[n]; last.StreamType != "Warning" || last.Seq != recs[0].Seq+int64(n) {
		t.Fatalf("last record: %+v", last)
	}
}

func waitRunningWithOutput(t *testing.T, c *rbhttp.Client, id string) {
	t.Helper()
	eventually(t, 20*time.Second, "the job to run and write", func() bool {
		st, recs, err := c.JobStreams(context.Background(), id, 0)
		return err == nil && st == runbooker.StatusRunning && len(recs) > 5
	})
}

func waitCompleted(t *testing.T, c *rbhttp.Client, id string, within time.Duration) {
	t.Helper()
	var j *runbooker.Job
	eventually(t, within, "the job to complete", func() bool {
		var err error
		j, err = c.Job(context.Background(), id)
		return err == nil && j.Status.Terminal()
	})
	if j.Status != runbooker.StatusCompleted || j.Attempt != 1 {
		t.Fatalf("job ended %s on attempt %d: %s", j.Status, j.Attempt, j.Exception)
	}
}

func TestServerKillDashNineMidJobLosesNoRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("server kill test skipped in -short mode")
	}
	const n = 200
	dir, addr, cred, p, c := outageSetup(t, n, "0.02")
	resp, err := c.Start(context.Background(), "org_general_chatty", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	waitRunningWithOutput(t, c, resp.JobID)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	time.Sleep(time.Second) // the worker keeps running the job meanwhile
	p2 := startServerProcess(t, addr, dir, "--lease-ttl", "3s")
	c2, _ := rbhttp.NewClient(p2.url, cred, nil)
	waitCompleted(t, c2, resp.JobID, 60*time.Second)
	checkChatty(t, c2, resp.JobID, n)
}

func TestServerDownSixtySecondsDuringChattyJob(t *testing.T) {
	if testing.Short() {
		t.Skip("60-second outage test skipped in -short mode")
	}
	const n = 600
	dir, addr, cred, p, c := outageSetup(t, n, "0.05") // about 40 s of output
	resp, err := c.Start(context.Background(), "org_general_chatty", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	waitRunningWithOutput(t, c, resp.JobID)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	time.Sleep(60 * time.Second) // the job ends while the server is away
	p2 := startServerProcess(t, addr, dir, "--lease-ttl", "3s")
	c2, _ := rbhttp.NewClient(p2.url, cred, nil)
	waitCompleted(t, c2, resp.JobID, 60*time.Second)
	checkChatty(t, c2, resp.JobID, n)
}
