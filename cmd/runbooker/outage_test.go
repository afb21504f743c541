package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// chattyScript prints n numbered lines, pausing between them, then a warning.
func chattyScript(n int, pause string) string {
	return fmt.Sprintf("#!/bin/bash\nfor i in $(seq 1 %d); do echo \"line $i\"; sleep %s; done\necho WARNING: all done\n", n, pause)
}

// journaled returns what a worker's spool holds: the reports of attempts
// not yet delivered in full, finish included (a line with "f").
func journaled(w *workerProcess) string {
	names, _ := filepath.Glob(filepath.Join(w.stateDir, "spool", "*.journal"))
	var b strings.Builder
	for _, name := range names {
		data, _ := os.ReadFile(name)
		b.Write(data)
	}
	return b.String()
}

// outageSetup starts a server process with a worker group and a worker
// process, and a chatty runbook printing n numbered lines.
func outageSetup(t *testing.T, n int, pause string) (dir, addr, cred string, p *serverProcess, c *rbhttp.Client, w *workerProcess) {
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
	if _, err := c.PutRunbook(context.Background(), "org_general_chatty", runbooker.LangBash, []byte(chattyScript(n, pause))); err != nil {
		t.Fatal(err)
	}
	w = startWorker(t, p.url, token, t.TempDir())
	return dir, addr, cred, p, c, w
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
	dir, addr, cred, p, c, w := outageSetup(t, n, "0.02")
	resp, err := c.Start(context.Background(), "org_general_chatty", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	waitRunningWithOutput(t, c, resp.JobID)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	before := len(journaled(w))
	eventually(t, 20*time.Second, "the worker to go on with the job while the server is dead", func() bool {
		return len(journaled(w)) > before
	})
	p2 := startServerProcess(t, addr, dir, "--lease-ttl", "3s")
	c2, _ := rbhttp.NewClient(p2.url, cred, nil)
	waitCompleted(t, c2, resp.JobID, 60*time.Second)
	checkChatty(t, c2, resp.JobID, n)
}

// The server is away for sixty seconds of its clock while a hybrid worker
// runs a chatty job, which ends meanwhile: when the server is back, every
// record arrives once and in order. The server runs in this process, so its
// clock jumps the sixty seconds (its leases and the worker's last-seen time
// are long past, as after a real outage). The worker's side of the outage
// lasts in real time until its job has ended: its spool's retries reach
// their 2 s cap within about 3 s, and a longer outage only repeats them.
func TestServerDownSixtySecondsDuringChattyJob(t *testing.T) {
	const n = 300
	s := startServer(t, func(c *ServeConfig) { c.Listen, c.LeaseTTL = freeAddr(t), 3*time.Second })
	w := startWorker(t, s.url, createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"}), t.TempDir())
	s.put("org_general_chatty", runbooker.LangBash, chattyScript(n, "0.02"))
	resp, err := s.client.Start(context.Background(), "org_general_chatty", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	waitRunningWithOutput(t, s.client, resp.JobID)
	cfg := s.m.Config
	s.stop() // as on SIGTERM
	eventually(t, 60*time.Second, "the job to end while the server is away", func() bool {
		return strings.Contains(journaled(w), `"f":`)
	})
	s.clock.Advance(60 * time.Second)
	// The restarted server's rescuer waits one lease period before it takes
	// jobs whose leases ran out during the outage; a loaded machine may need
	// more than 3 s for the worker's next retry to deliver the finish.
	cfg.LeaseTTL = 15 * time.Second
	s.start(cfg)
	waitCompleted(t, s.client, resp.JobID, 60*time.Second)
	checkChatty(t, s.client, resp.JobID, n)
}
