package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/engine"
)

// pageStore records the largest number of records any Streams call asked
// for (0: all of them).
type pageStore struct {
	runbooker.Store
	mu        sync.Mutex
	unbounded bool
	largest   int
}

func (p *pageStore) Streams(ctx context.Context, tenantID, id string, f runbooker.StreamFilter) ([]runbooker.StreamRecord, error) {
	p.mu.Lock()
	p.unbounded = p.unbounded || f.Limit <= 0
	p.largest = max(p.largest, f.Limit)
	p.mu.Unlock()
	return p.Store.Streams(ctx, tenantID, id, f)
}

// TestRunAnswerReadsRecordsInPages (issue 11 item 9): a synchronous run's
// answer used to read the job's whole output into memory and encode it in
// one piece; now it is written as it is read, at most runAnswerPage
// records at a time.
func TestRunAnswerReadsRecordsInPages(t *testing.T) {
	ctx := context.Background()
	db := testStore(t)
	st := &pageStore{Store: db}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := engine.New(st, engine.Config{}, quiet)
	srv := NewServer(e, Config{RunWait: time.Minute}, quiet)
	srv.Store = st
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.Put(ctx, st, catalog.PutInput{TenantID: runbooker.DefaultTenant, Name: "org_general_x",
		Language: runbooker.LangBash, Content: []byte("echo\n")}); err != nil {
		t.Fatal(err)
	}
	credID, secret := testCredential(t, st, runbooker.RoleAdmin, time.Now())
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	// A worker in the test: it appends the records while the job runs and
	// finishes without any, so the answer must read them from the store.
	const n = 3*runAnswerPage + 7
	go func() {
		as, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1, Wait: 30 * time.Second})
		if err != nil || len(as) != 1 {
			t.Errorf("claim: %v %d", err, len(as))
			return
		}
		ref := runbooker.JobRef{ID: as[0].ID, Attempt: as[0].Attempt}
		recs := make([]runbooker.StreamRecord, n)
		for i := range recs {
			recs[i] = runbooker.StreamRecord{Seq: int64(i + 1), Time: time.Now().UTC(), Type: runbooker.StreamOutput, Text: fmt.Sprint("line ", i+1)}
		}
		if err := e.AppendStreams(ctx, ref, recs); err != nil {
			t.Error(err)
		}
		if _, err := e.Finish(ctx, runbooker.FinishParams{Ref: ref, Status: runbooker.StatusCompleted}); err != nil {
			t.Error(err)
		}
	}()
	req, _ := http.NewRequest("POST", ts.URL+"/runbook/org_general_x/run", nil)
	req.SetBasicAuth(credID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out RunResponse
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 || out.Status != "Completed" || len(out.Streams) != n {
		t.Fatalf("answer: %d %v, %s with %d records: %.200s", resp.StatusCode, err, out.Status, len(out.Streams), body)
	}
	for i, r := range out.Streams {
		if r.Seq != int64(i+1) || r.Summary != fmt.Sprint("line ", i+1) {
			t.Fatalf("record %d: %d %q", i, r.Seq, r.Summary)
		}
	}
	if !bytes.HasSuffix(body, []byte("]}\n")) {
		t.Errorf("answer ends %q", body[len(body)-10:])
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.unbounded || st.largest > runAnswerPage {
		t.Errorf("records were read %s, want at most %d at a time", map[bool]string{true: "all at once", false: fmt.Sprint(st.largest, " at a time")}[st.unbounded], runAnswerPage)
	}
}
