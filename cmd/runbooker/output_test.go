package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/runbooker/runbooker"
)

// TestExternalRecordShape (issue 11 item 9): records of the external API
// follow RealmJoin's documented examples: streamText is null (the text is
// in summary, and was sent twice) and time is written as
// 2021-12-15T14:47:27.7756185+00:00.
func TestExternalRecordShape(t *testing.T) {
	s := startServer(t)
	s.put("org_general_shape", runbooker.LangBash, "echo one\necho two\n")
	timeRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$`)
	check := func(what, body string, want int) {
		t.Helper()
		var v struct {
			Streams []map[string]json.RawMessage `json:"streams"`
		}
		recs := &v.Streams
		if strings.HasPrefix(strings.TrimSpace(body), "[") {
			if err := json.Unmarshal([]byte(body), recs); err != nil {
				t.Fatalf("%s: %v in %s", what, err, body)
			}
		} else if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%s: %v in %s", what, err, body)
		}
		if len(*recs) != want {
			t.Fatalf("%s: %d records, want %d: %s", what, len(*recs), want, body)
		}
		for i, r := range *recs {
			var tm, summary string
			_ = json.Unmarshal(r["time"], &tm)
			_ = json.Unmarshal(r["summary"], &summary)
			if string(r["streamText"]) != "null" || !timeRE.MatchString(tm) || summary != []string{"one", "two"}[i] {
				t.Errorf("%s: record %d: streamText %s, time %q, summary %q", what, i, r["streamText"], tm, summary)
			}
		}
	}
	st, _, body := s.call("POST", "/runbook/org_general_shape/run", s.cred, "")
	if st != 200 {
		t.Fatalf("run: %d %s", st, body)
	}
	check("run", body, 2)
	var resp struct{ JobID string }
	_ = json.Unmarshal([]byte(body), &resp)
	_, _, body = s.call("GET", "/runbook/jobs/"+resp.JobID+"/output/streams", s.cred, "")
	check("output/streams", body, 2)
	// The CLI prints the summary.
	if code, out, errOut := s.cli("run", "org_general_shape"); code != 0 || out != "one\ntwo\n" {
		t.Errorf("runbooker run: %d %q %q", code, out, errOut)
	}
}

// TestExternalRunAnswerIsStreamed (issue 11 item 9): a synchronous run's
// answer is written as the records are read, a page at a time, rather than
// built whole in memory (eight concurrent runs of 100 MB took the server to
// 1.1 GB RSS). The peak RSS is logged, not asserted (noisy); the answers
// must be complete.
func TestExternalRunAnswerIsStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MB of records")
	}
	const runs, lines = 8, 80_000 // 100-byte lines: 8 MB each
	s := startServer(t, func(c *ServeConfig) { c.OutputCap, c.CloudCapacity = 64<<20, runs })
	s.put("org_general_loud", runbooker.LangBash,
		fmt.Sprintf("for ((i = 0; i < %d; i++)); do printf '%%099d\\n' $i; done\n", lines))
	resetPeakRSS()
	before := rssKiB("VmRSS")
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(context.Background(), "POST", s.url+"/runbook/org_general_loud/run", nil)
			id, secret, _ := strings.Cut(s.cred, ":")
			req.SetBasicAuth(id, secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			// Count records without holding the answer: each has one "seq".
			c := &seqCounter{}
			if _, err := io.Copy(c, resp.Body); err != nil || resp.StatusCode != 200 || c.n != lines || !bytes.HasSuffix(c.tail, []byte("]}\n")) {
				errs <- fmt.Errorf("answer: %d, %d records, %v, ends %q", resp.StatusCode, c.n, err, c.tail)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d concurrent synchronous runs of %d MB output: RSS %d MiB before, peak %d MiB",
		runs, lines*100/1_000_000, before>>10, rssKiB("VmHWM")>>10)
}

// seqCounter counts `"seq":` in what is written to it, across writes.
type seqCounter struct {
	n    int
	tail []byte // the last bytes written
}

func (c *seqCounter) Write(p []byte) (int, error) {
	buf := append(c.tail, p...)
	c.n += bytes.Count(buf, []byte(`"seq":`)) - bytes.Count(c.tail, []byte(`"seq":`))
	c.tail = append([]byte{}, buf[max(0, len(buf)-8):]...)
	return len(p), nil
}

// resetPeakRSS resets VmHWM (Linux ≥ 4.0); elsewhere the peak is the
// process's whole life.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// rssKiB reads a field (VmRSS, VmHWM) of /proc/self/status in KiB.
func rssKiB(field string) int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// TestTenantOutputQuota (issue 11 item 9): a tenant's stored output had no
// limit (the database grew to 2.8 GB). With --tenant-output-quota, a job
// stores only what is left of its tenant's quota, and a Warning record
// says the quota cut it short.
func TestTenantOutputQuota(t *testing.T) {
	s := startServer(t, func(c *ServeConfig) { c.OutputQuota = 2000 })
	s.put("org_general_chatty", runbooker.LangBash, "for i in $(seq 30); do printf '%099d\\n' $i; done\n")
	resp := s.runJSON("org_general_chatty", nil)
	if resp.Status != "Completed" || len(resp.Streams) == 0 {
		t.Fatalf("run: %s %d records", resp.Status, len(resp.Streams))
	}
	kept := 0
	for _, r := range resp.Streams[:len(resp.Streams)-1] {
		kept += len(r.Summary)
	}
	last := resp.Streams[len(resp.Streams)-1]
	if kept > 2000 || kept < 1900 || last.StreamType != "Warning" || !strings.Contains(last.Summary, "quota of stored output") {
		t.Errorf("kept %d bytes (quota 2000); last record %s %q", kept, last.StreamType, last.Summary)
	}
	n, err := s.m.Store.TenantOutputBytes(context.Background(), runbooker.DefaultTenant)
	if err != nil || n < int64(kept) || n > int64(kept+len(last.Summary)) {
		t.Errorf("TenantOutputBytes = %d, %v; kept %d", n, err, kept)
	}
}
