package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// TestWorkerRecordTimesClamped (issue 11 item 6): a record time of
// 2999-01-01 used to be stored as 1829-11-23 and a record without a time as
// 1754-08-30 (64-bit nanoseconds overflowing). Times outside the attempt's
// window (job created .. now) are set to its nearest end, and the worker is
// told why in the answer's Runbooker-Warning header.
func TestWorkerRecordTimesClamped(t *testing.T) {
	s := startServer(t)
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "clock"})
	ctx := context.Background()
	reg, err := rbhttp.Register(ctx, s.url, nil, rbhttp.RegisterRequest{Token: token, Name: "skewed"})
	if err != nil {
		t.Fatal(err)
	}
	wc, _ := rbhttp.NewWorkerClient(s.url, reg.WorkerID, reg.Secret, nil)
	wc.Wait = time.Second
	s.put("org_general_clock", runbooker.LangBash, "echo hi\n")
	before := time.Now().UTC()
	if _, err := s.client.Start(ctx, "org_general_clock", nil, "clock"); err != nil {
		t.Fatal(err)
	}
	jobs, err := wc.Claim(ctx, 1)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %d", err, len(jobs))
	}
	j := jobs[0].Job
	post := func(verb, body string) (int, http.Header) {
		req, _ := http.NewRequest("POST", s.url+"/api/worker/v1/jobs/"+j.ID+"/"+verb, strings.NewReader(body))
		req.SetBasicAuth(reg.WorkerID, reg.Secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	good := time.Now().UTC().Format(time.RFC3339Nano)
	st, h := post("streams", fmt.Sprintf(`{"attempt":%d,"records":[
		{"seq":%d,"time":"2999-01-01T00:00:00Z","streamType":"Output","streamText":"future"},
		{"seq":%d,"streamType":"Output","streamText":"no time"},
		{"seq":%d,"time":"1900-01-01T00:00:00Z","streamType":"Output","streamText":"past"},
		{"seq":%d,"time":%q,"streamType":"Output","streamText":"good"}]}`,
		j.Attempt, j.NextSeq, j.NextSeq+1, j.NextSeq+2, j.NextSeq+3, good))
	if st != 204 || !strings.Contains(h.Get(rbhttp.WarningHeader), "3 of 4 records") {
		t.Errorf("streams: %d, warning %q", st, h.Get(rbhttp.WarningHeader))
	}
	st, h = post("finish", fmt.Sprintf(`{"attempt":%d,"status":"Completed","records":[{"seq":%d,"time":"0001-01-01T00:00:00Z","streamType":"Output","streamText":"zero"}]}`,
		j.Attempt, j.NextSeq+4))
	if st != 200 || !strings.Contains(h.Get(rbhttp.WarningHeader), "1 of 1 records") {
		t.Errorf("finish: %d, warning %q", st, h.Get(rbhttp.WarningHeader))
	}
	after := time.Now().UTC()
	_, recs, err := s.client.JobStreams(ctx, j.ID, 0)
	if err != nil || len(recs) != 5 {
		t.Fatalf("streams: %v %d", err, len(recs))
	}
	for _, r := range recs {
		if r.Time.Before(before.Add(-time.Second)) || r.Time.After(after) {
			t.Errorf("record %q stored with time %s, want within %s .. %s", r.Text, r.Time, before, after)
		}
		if r.Text == "good" && r.Time.Format(time.RFC3339Nano) != good {
			t.Errorf("a time within the window was changed: %s, sent %s", r.Time.Format(time.RFC3339Nano), good)
		}
	}
}
