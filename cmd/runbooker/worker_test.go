package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// workerProcess is `runbooker worker` as a real child process.
type workerProcess struct {
	cmd      *exec.Cmd
	stateDir string
	log      *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startWorker(t *testing.T, server, token, stateDir string, extra ...string) *workerProcess {
	t.Helper()
	args := append([]string{"worker", "--server", server, "--token", token, "--state-dir", stateDir,
		"--heartbeat", "500ms", "--log-level", "debug", "--capacity", "2"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RUNBOOKER_TEST_AS_MAIN=1")
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{cmd: cmd, stateDir: stateDir, log: log}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("worker %s log:\n%s", stateDir, log.String())
		}
	})
	return w
}

// signal sends sig to the worker's process group.
func (w *workerProcess) signal(sig syscall.Signal) {
	signalGroup(w.cmd.Process.Pid, sig)
}

// id reads the worker id the worker stored after registering.
func (w *workerProcess) id(t *testing.T) string {
	t.Helper()
	var id workerIdentity
	eventually(t, 15*time.Second, "the worker to register", func() bool {
		b, err := os.ReadFile(filepath.Join(w.stateDir, "worker.json"))
		return err == nil && json.Unmarshal(b, &id) == nil && id.WorkerID != ""
	})
	return id.WorkerID
}

func createGroup(t *testing.T, s *server, g runbooker.WorkerGroup) string {
	t.Helper()
	g.TenantID = runbooker.DefaultTenant
	token, err := s.m.Engine.CreateGroup(context.Background(), &g)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func waitWorkersOnline(t *testing.T, c *rbhttp.Client, group string, n int) {
	t.Helper()
	eventually(t, 20*time.Second, "workers to come online", func() bool {
		ws, err := c.Workers(context.Background(), group)
		online := 0
		for _, w := range ws {
			if w.Online {
				online++
			}
		}
		return err == nil && online >= n
	})
}

func TestHybridWorkersShareTheLoadAndGroupsAreIsolated(t *testing.T) {
	s := startServer(t)
	tokenA := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	tokenB := createGroup(t, s, runbooker.WorkerGroup{Name: "dmz"})
	w1 := startWorker(t, s.url, tokenA, t.TempDir())
	w2 := startWorker(t, s.url, tokenA, t.TempDir())
	wb := startWorker(t, s.url, tokenB, t.TempDir())
	id1, id2, idB := w1.id(t), w2.id(t), wb.id(t)
	waitWorkersOnline(t, s.client, "onprem", 2)
	s.put("org_general_where", runbooker.LangBash, "#!/bin/bash\nsleep 0.3\necho \"ran on $(hostname)\"\n")
	ctx := context.Background()
	var ids []string
	for i := 0; i < 12; i++ {
		resp, err := s.client.Start(ctx, "org_general_where", nil, "onprem")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.JobID)
	}
	count := map[string]int{}
	for _, id := range ids {
		j := s.waitJob(id)
		if j.Status != runbooker.StatusCompleted {
			t.Fatalf("job %s: %s %s", id, j.Status, j.Exception)
		}
		count[j.WorkerID]++
	}
	if count[id1] == 0 || count[id2] == 0 || count[idB] != 0 || count[id1]+count[id2] != 12 {
		t.Errorf("jobs per worker: %v (workers %s %s, other group %s)", count, id1, id2, idB)
	}
	// A job for the dmz group runs only there.
	resp, _ := s.client.Start(ctx, "org_general_where", nil, "dmz")
	if j := s.waitJob(resp.JobID); j.WorkerID != idB {
		t.Errorf("dmz job ran on %s", j.WorkerID)
	}
	// Unknown groups are refused before queueing.
	if _, err := s.client.Start(ctx, "org_general_where", nil, "nowhere"); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("unknown runOn: %v", err)
	}
	groups, err := s.client.Groups(ctx)
	if err != nil || len(groups) != 3 || groups[0].Name != runbooker.CloudGroup {
		t.Fatalf("groups (the built-in one first, then onprem and dmz): %v %+v", err, groups)
	}
	// A removed worker's credential stops working at once; deleting a group
	// with workers is refused.
	if err := s.client.DeleteGroup(ctx, "dmz"); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("delete non-empty group: %v", err)
	}
	var ident workerIdentity
	b, _ := os.ReadFile(filepath.Join(wb.stateDir, "worker.json"))
	_ = json.Unmarshal(b, &ident)
	if st, err := os.Stat(filepath.Join(wb.stateDir, "worker.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("worker credential file mode: %v %v", err, st.Mode())
	}
	if err := s.client.DeleteWorker(ctx, idB); err != nil {
		t.Fatal(err)
	}
	wc, _ := rbhttp.NewWorkerClient(s.url, ident.WorkerID, ident.Secret, nil)
	if _, err := wc.Heartbeat(ctx, nil); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
		t.Errorf("removed worker heartbeat: %v", err)
	}
}

func TestWorkerCannotTouchJobsItDoesNotHold(t *testing.T) {
	s := startServer(t)
	tokenA := createGroup(t, s, runbooker.WorkerGroup{Name: "a"})
	tokenB := createGroup(t, s, runbooker.WorkerGroup{Name: "b"})
	ctx := context.Background()
	reg := func(token string) *rbhttp.WorkerClient {
		r, err := rbhttp.Register(ctx, s.url, nil, rbhttp.RegisterRequest{Token: token, Name: "manual"})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := rbhttp.NewWorkerClient(s.url, r.WorkerID, r.Secret, nil)
		c.Wait = time.Second
		return c
	}
	wa, wb := reg(tokenA), reg(tokenB)
	if _, err := rbhttp.Register(ctx, s.url, nil, rbhttp.RegisterRequest{Token: "rbg_wrong"}); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
		t.Errorf("bad token: %v", err)
	}
	if _, err := s.m.Engine.PutAsset(ctx, engineAsset("credential", "svc", `{"userName":"svc","password":"Sup3r-S3cret!"}`)); err != nil {
		t.Fatal(err)
	}
	const src = "#!/bin/bash\n# @param N int\n# @param R float\n# @param L string[]\necho hi\n"
	s.put("org_general_x", runbooker.LangBash, src)
	resp, err := s.client.Start(ctx, "org_general_x", map[string]any{"N": "7", "R": 2, "L": "x"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	// Group b's worker gets nothing of group a.
	if jobs, err := wb.Claim(ctx, 5); err != nil || len(jobs) != 0 {
		t.Fatalf("group b claimed %d jobs (%v)", len(jobs), err)
	}
	jobs, err := wa.Claim(ctx, 5)
	if err != nil || len(jobs) != 1 || jobs[0].Job.ID != resp.JobID || string(jobs[0].Script) != src {
		t.Fatalf("group a claim: %v %+v", err, jobs)
	}
	// The worker gets the parameters with the types they were bound to,
	// and its group's settings.
	if p := jobs[0].Parameters; !reflect.DeepEqual(p, map[string]any{"N": int64(7), "R": 2.0, "L": []string{"x"}}) {
		t.Errorf("parameters on the worker: %#v", p)
	}
	if g := jobs[0].Group; g == nil || g.Name != "a" {
		t.Errorf("group settings on the worker: %+v", g)
	}
	held := jobs[0].Job
	ref := runbooker.JobRef{ID: held.ID, Attempt: held.Attempt}
	// The holder reads the asset; the other worker cannot, nor a stale attempt.
	if v, secret, err := wa.Asset(ctx, held, runbooker.AssetCredential, "svc"); err != nil || !secret || !strings.Contains(string(v), "Sup3r-S3cret!") {
		t.Errorf("holder asset read: %v %v %s", err, secret, v)
	}
	if _, _, err := wb.Asset(ctx, held, runbooker.AssetCredential, "svc"); err == nil {
		t.Error("a worker of another group read the asset of a job it does not hold")
	}
	stale := *held
	stale.Attempt = held.Attempt + 1
	if _, _, err := wa.Asset(ctx, &stale, runbooker.AssetCredential, "svc"); err == nil {
		t.Error("a wrong attempt read an asset")
	}
	for name, call := range map[string]func() error{
		"append": func() error {
			return wb.Append(ctx, ref, []runbooker.StreamRecord{{Seq: 1, Type: "Output", Text: "x", Time: time.Now()}})
		},
		"finish": func() error {
			return wb.Finish(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted})
		},
		"start": func() error { return wb.Start(ctx, ref, time.Now()) },
	} {
		if err := call(); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
			t.Errorf("other worker %s: %v", name, err)
		}
	}
	if err := wa.Finish(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted,
		Records: []runbooker.StreamRecord{{Seq: held.NextSeq, Type: "Output", Text: "done", Time: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	// After the finish the lease is over: no more asset reads.
	if _, _, err := wa.Asset(ctx, held, runbooker.AssetCredential, "svc"); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("asset read after finish: %v", err)
	}
	if out, _ := s.client.OutputText(ctx, held.ID); out != "done\n" {
		t.Errorf("output %q", out)
	}
}

func TestKillDashNineWorkerRequeuesToTheOther(t *testing.T) {
	s := startServer(t, func(c *ServeConfig) { c.LeaseTTL = 2 * time.Second })
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	w1 := startWorker(t, s.url, token, t.TempDir())
	w2 := startWorker(t, s.url, token, t.TempDir())
	ids := map[string]*workerProcess{w1.id(t): w1, w2.id(t): w2}
	waitWorkersOnline(t, s.client, "onprem", 2)
	s.put("org_general_slow", runbooker.LangBash, "#!/bin/bash\necho \"attempt on $RB_JOB_ID\"\nsleep 3\necho finished\n")
	ctx := context.Background()
	resp, err := s.client.Start(ctx, "org_general_slow", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	var holder string
	eventually(t, 10*time.Second, "the job to run", func() bool {
		j, _ := s.client.Job(ctx, resp.JobID)
		holder = j.WorkerID
		return j.Status == runbooker.StatusRunning
	})
	_ = ids[holder].cmd.Process.Signal(syscall.SIGKILL)
	_ = ids[holder].cmd.Wait()
	j := s.waitJob(resp.JobID)
	if j.Status != runbooker.StatusCompleted || j.WorkerID == holder || j.Attempt != 2 {
		t.Fatalf("after kill -9: %s on %s attempt %d (%s)", j.Status, j.WorkerID, j.Attempt, j.Exception)
	}
	recs, _ := s.client.OutputStreams(ctx, resp.JobID)
	var warned bool
	var last int64
	for _, r := range recs {
		if r.Seq <= last {
			t.Errorf("sequence not increasing: %d after %d", r.Seq, last)
		}
		last = r.Seq
		warned = warned || (r.StreamType == "Warning" && strings.Contains(r.Summary, "attempt"))
	}
	if !warned || recs[len(recs)-1].Summary != "finished" {
		t.Errorf("records after the retry: %+v", recs)
	}
}
