package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// callCounter is a reverse proxy in front of the server that records the
// paths of the calls passing through it, and how many finishes asked to
// claim.
type callCounter struct {
	mu     sync.Mutex
	paths  []string
	claims int // finishes that asked to claim
}

func countingProxy(t *testing.T, target string) (*httptest.Server, *callCounter) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &callCounter{}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claim := 0
		if strings.HasSuffix(r.URL.Path, "/finish") {
			var req rbhttp.AttemptRequest
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if json.Unmarshal(body, &req) == nil {
				claim = req.Claim
			}
		}
		c.mu.Lock()
		c.paths = append(c.paths, r.URL.Path)
		if claim > 0 {
			c.claims++
		}
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts, c
}

// count is how many calls passed whose path satisfies is.
func (c *callCounter) count(is func(path string) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.paths {
		if is(p) {
			n++
		}
	}
	return n
}

// get is how many calls passed whose path ends in /verb.
func (c *callCounter) get(verb string) int {
	return c.count(func(path string) bool { return strings.HasSuffix(path, "/"+verb) })
}

// A hybrid worker's slot takes its next job with the finish of the last
// one: six queued jobs through one slot cost the claim that found the
// first and the one that found the queue empty, not one claim per job.
func TestHybridWorkerClaimsItsNextJobWithTheFinish(t *testing.T) {
	s := startServer(t)
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	s.put("org_general_chain", runbooker.LangBash, "#!/bin/bash\necho \"done $RANDOM\"\n")
	ctx := context.Background()
	// The jobs are queued before the worker first claims.
	var ids []string
	for i := 0; i < 6; i++ {
		resp, err := s.client.Start(ctx, "org_general_chain", nil, "onprem")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.JobID)
	}
	proxy, calls := countingProxy(t, s.url)
	w := startWorker(t, proxy.URL, token, t.TempDir(), "--capacity", "1")
	w.id(t)
	for _, id := range ids {
		j := s.waitJob(id)
		if j.Status != runbooker.StatusCompleted {
			t.Fatalf("job %s: %s %s", id, j.Status, j.Exception)
		}
		out, err := s.client.OutputText(ctx, id)
		if err != nil || !strings.HasPrefix(out, "done ") {
			t.Errorf("job %s output %q, %v", id, out, err)
		}
	}
	// The last finish found the queue empty; the slot then long-polls.
	eventually(t, 10*time.Second, "the worker to claim again after its last finish", func() bool { return calls.get("claim") >= 2 })
	calls.mu.Lock()
	claims := calls.claims
	calls.mu.Unlock()
	if n := calls.get("finish"); n != 6 || claims != 6 {
		t.Errorf("%d finishes, %d of them asking to claim; want 6 and 6", n, claims)
	}
	if n := calls.get("claim"); n > 2 {
		t.Errorf("%d claim calls for 6 jobs through one slot, want 2 (the first job's and the empty queue's)", n)
	}
}

// The finish's claim over the protocol: the jobs come in the answer with
// the finished job; a finish that is refused (a stale attempt) claims
// nothing; a claim out of bounds is refused before anything is written.
func TestFinishAnswersTheJobsClaimedWithIt(t *testing.T) {
	s := startServer(t)
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "manual"})
	ctx := context.Background()
	r, err := rbhttp.Register(ctx, s.url, nil, rbhttp.RegisterRequest{Token: token, Name: "manual", Languages: []runbooker.Language{runbooker.LangBash}})
	if err != nil {
		t.Fatal(err)
	}
	wc, _ := rbhttp.NewWorkerClient(s.url, r.WorkerID, r.Secret, nil)
	wc.Wait = 0
	s.put("org_general_chain", runbooker.LangBash, "#!/bin/bash\necho hi\n")
	var ids []string
	for i := 0; i < 3; i++ {
		resp, err := s.client.Start(ctx, "org_general_chain", nil, "manual")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.JobID)
	}
	first, err := wc.Claim(ctx, 1)
	if err != nil || len(first) != 1 || first[0].ID != ids[0] {
		t.Fatalf("claim: %d jobs, %v; want %s", len(first), err, ids[0])
	}
	done := func(a runbooker.Assignment, text string) runbooker.FinishParams {
		return runbooker.FinishParams{Ref: runbooker.JobRef{ID: a.ID, Attempt: a.Attempt}, Status: runbooker.StatusCompleted,
			Records: []runbooker.StreamRecord{{Seq: a.NextSeq, Type: runbooker.StreamOutput, Text: text, Time: time.Now()}}}
	}

	// Out of bounds: refused, nothing finished.
	if _, err := wc.FinishAndClaim(ctx, done(first[0], "x"), 257); runbooker.ErrorCode(err) != runbooker.EINVALID ||
		!strings.Contains(runbooker.ErrorMessage(err), "claim must be 0 to 256") {
		t.Fatalf("a claim of 257 with the finish: %v, want it refused naming the bounds", err)
	}
	if j := s.jobNow(ids[0]); j.Status.Terminal() {
		t.Fatalf("a refused finish ended job %s: %s", ids[0], j.Status)
	}
	// A stale attempt's finish is refused and claims nothing.
	stale := done(first[0], "stale")
	stale.Ref.Attempt++
	if got, err := wc.FinishAndClaim(ctx, stale, 1); runbooker.ErrorCode(err) != runbooker.ECONFLICT || len(got) != 0 {
		t.Fatalf("a stale attempt's finish-and-claim: %d jobs, %v; want a conflict and none", len(got), err)
	}
	if j := s.jobNow(ids[1]); j.Status != runbooker.StatusNew {
		t.Fatalf("job %s is %s after a refused finish-and-claim, want New", ids[1], j.Status)
	}

	// The finish of job 1 claims job 2; asking for five, job 2's claims
	// the one left; job 3's finds none.
	next, err := wc.FinishAndClaim(ctx, done(first[0], "one"), 1)
	if err != nil || len(next) != 1 || next[0].ID != ids[1] || next[0].WorkerID != r.WorkerID || len(next[0].Script) == 0 {
		t.Fatalf("finish-and-claim of job 1: %+v, %v; want job %s with its script", next, err, ids[1])
	}
	last, err := wc.FinishAndClaim(ctx, done(next[0], "two"), 5)
	if err != nil || len(last) != 1 || last[0].ID != ids[2] {
		t.Fatalf("finish-and-claim of job 2 asking for 5: %d jobs, %v; want job %s alone", len(last), err, ids[2])
	}
	none, err := wc.FinishAndClaim(ctx, done(last[0], "three"), 1)
	if err != nil || len(none) != 0 {
		t.Fatalf("finish-and-claim of the last job: %d jobs, %v; want none", len(none), err)
	}
	for i, want := range []string{"one\n", "two\n", "three\n"} {
		j := s.jobNow(ids[i])
		out, err := s.client.OutputText(ctx, ids[i])
		if j.Status != runbooker.StatusCompleted || err != nil || out != want {
			t.Errorf("job %d: %s, output %q (%v); want Completed with %q", i+1, j.Status, out, err, want)
		}
	}
}

// jobNow reads a job as it is now.
func (s *server) jobNow(id string) *runbooker.Job {
	s.t.Helper()
	j, err := s.client.Job(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return j
}
