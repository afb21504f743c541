package main

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// portalJobStart starts runbook on the UserName target as the person of hc
// (through the API their browser uses) and returns the job id.
func portalJobStart(t *testing.T, s *server, hc *http.Client, runbook, user, runOn string) string {
	t.Helper()
	path := "/api/external/runbook/" + runbook + "/start"
	if runOn != "" {
		path += "?runOn=" + runOn
	}
	st, body := portalCall(t, s, hc, "POST", path, `{"UserName":"`+user+`"}`)
	if st/100 != 2 {
		t.Fatalf("start %s on %s: %d %s", runbook, user, st, body)
	}
	var out struct{ JobID string }
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.JobID == "" {
		t.Fatalf("start %s: %v in %s", runbook, err, body)
	}
	return out.JobID
}

// portalGet fetches a portal page without following redirects.
func portalGet(t *testing.T, s *server, hc *http.Client, path string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	nc := *hc
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("GET", s.url+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := nc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = bufio.NewReader(resp.Body).WriteTo(b)
	return resp.StatusCode, resp.Header, b.String()
}

// portalPost posts a form without following redirects.
func portalPost(t *testing.T, s *server, hc *http.Client, path string, form url.Values) (int, http.Header, string) {
	t.Helper()
	nc := *hc
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.PostForm(s.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = bufio.NewReader(resp.Body).WriteTo(b)
	return resp.StatusCode, resp.Header, b.String()
}

func TestPortalJobsList(t *testing.T) {
	s := permServer(t)
	help := portalClient(t, s, "help@contoso.com")
	id := portalJobStart(t, s, help, "user_security_reset-mfa", "jane@contoso.com", "parked")

	st, _, body := portalGet(t, s, help, "/jobs")
	if st != 200 {
		t.Fatalf("GET /jobs: %d %s", st, body)
	}
	for _, want := range []string{`id="jobs-table"`, `href="/jobs/` + id + `"`, "user_security_reset-mfa", "user: ",
		`class="status status-New"`, "help@contoso.com", `id="job-search"`, `data-live-events="job.created job.status"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	// Filters: the API's (status) and the portal's (scope, target).
	for q, shown := range map[string]bool{
		"status=New": true, "status=Completed": false, "scope=user": true, "scope=device": false,
		"category=security": true, "target=jane": true, "target=ceo": false, "runbook=user_security_reset-mfa": true,
		"caller=help@contoso.com": true, "caller=nobody@contoso.com": false,
		"from=2000-01-01T00:00": true, "to=2000-01-01T00:00": false,
	} {
		_, _, body := portalGet(t, s, help, "/jobs?"+q)
		if got := strings.Contains(body, "/jobs/"+id); got != shown {
			t.Errorf("/jobs?%s: job shown %v, want %v", q, got, shown)
		}
	}
	// Pages: the newest first, "Older jobs" carries the cursor on.
	older := portalJobStart(t, s, help, "user_security_reset-mfa", "sam@us.contoso.com", "parked")
	older, id = id, older // id is the newer job now
	_, _, body = portalGet(t, s, help, "/jobs?limit=1")
	m := regexp.MustCompile(`id="jobs-older" href="([^"]+)"`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "/jobs/"+id) || strings.Contains(body, "/jobs/"+older+`"`) {
		t.Fatalf("first page of one: %s", body)
	}
	next := html.UnescapeString(m[1])
	if !strings.Contains(next, "cursor=") || !strings.Contains(next, "limit=1") {
		t.Errorf("older link %q", next)
	}
	if _, _, body = portalGet(t, s, help, next); !strings.Contains(body, "/jobs/"+older+`"`) || strings.Contains(body, "/jobs/"+id+`"`) ||
		strings.Contains(body, "hx-trigger") {
		t.Errorf("second page: %s", body)
	}
	// htmx asks for the table alone.
	_, _, part := portalGet(t, s, help, "/jobs", "HX-Request", "true", "HX-Target", "jobs-list")
	if strings.Contains(part, "<html") || !strings.Contains(part, `id="jobs-table"`) {
		t.Errorf("the partial is not the table alone: %.200s", part)
	}
	// Search by id.
	st, hdr, _ := portalGet(t, s, help, "/jobs?id="+id)
	if st != http.StatusSeeOther || hdr.Get("Location") != "/jobs/"+id {
		t.Errorf("search by id: %d to %q", st, hdr.Get("Location"))
	}
	st, _, body = portalGet(t, s, help, "/jobs?id=no-such-job")
	if st != http.StatusNotFound || !strings.Contains(body, "No job with that id") {
		t.Errorf("search for a missing id: %d", st)
	}
}

func TestPortalJobsForbidden(t *testing.T) {
	s := permServer(t)
	st, _, body := s.call("POST", "/api/external/runbook/user_security_reset-mfa/start?runOn=parked", s.cred, `{"UserName":"ceo@contoso.com"}`)
	if st != 200 {
		t.Fatalf("start on the CEO: %d %s", st, body)
	}
	var out struct{ JobID string }
	_ = json.Unmarshal([]byte(body), &out)
	help := portalClient(t, s, "help@contoso.com")
	st, _, body = portalGet(t, s, help, "/jobs/"+out.JobID)
	if st != http.StatusForbidden || !strings.Contains(html.UnescapeString(body), `may not see user_security_* on members of "VIP users"`) {
		t.Errorf("help on the CEO's job: %d, want 403 with the reason in %s", st, body)
	}
	if _, _, body = portalGet(t, s, help, "/jobs"); strings.Contains(body, out.JobID) {
		t.Error("the helpdesk's list shows the CEO's job")
	}
	if st, _, _ := portalGet(t, s, help, "/jobs/"+out.JobID+"/live"); st != http.StatusForbidden {
		t.Errorf("help's live stream of the CEO's job: %d", st)
	}
	// Someone without CanReadRunbookTable gets the API's reason for the list.
	if err := setLocalPassword(context.Background(), s.m.Store, runbooker.DefaultTenant, "jane@contoso.com", "correct horse jane@contoso.com"); err != nil {
		t.Fatal(err)
	}
	jane := portalClient(t, s, "jane@contoso.com")
	if st, _, body := portalGet(t, s, jane, "/jobs"); st != http.StatusForbidden || !strings.Contains(body, "CanReadRunbookTable") {
		t.Errorf("jane's job list: %d %s", st, body)
	}
	// Searching for it goes to its page, which says why.
	if st, hdr, _ := portalGet(t, s, help, "/jobs?id="+out.JobID); st != http.StatusSeeOther || hdr.Get("Location") != "/jobs/"+out.JobID {
		t.Errorf("search for a forbidden job: %d %q", st, hdr.Get("Location"))
	}
}

const printerScript = "#!/bin/bash\n# @param UserName string mandatory - the target\nfor i in 1 2 3 4; do echo \"line $i\"; sleep 0.3; done\necho \"WARNING: careful\"\necho oops >&2\n"

// readEvents reads a live stream to its end.
func readEvents(t *testing.T, s *server, hc *http.Client, path, lastID string, each func(sseEvent)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+path, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := scanSSE(resp.Body, each); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
}

func TestPortalJobsLive(t *testing.T) {
	s := permServer(t)
	s.put("user_general_printer", runbooker.LangBash, printerScript)
	help := portalClient(t, s, "help@contoso.com")
	id := portalJobStart(t, s, help, "user_general_printer", "jane@contoso.com", "")

	var events []sseEvent
	var texts []string
	sawRecordWhileRunning := false
	readEvents(t, s, help, "/jobs/"+id+"/live", "", func(ev sseEvent) {
		events = append(events, ev)
		if ev.Kind == "record" {
			var r struct {
				Seq  int64
				Type string
				Text string
			}
			if err := json.Unmarshal([]byte(ev.Raw), &r); err != nil {
				t.Fatalf("record %s: %v", ev.Raw, err)
			}
			if r.Type == "Output" {
				texts = append(texts, strings.TrimSpace(r.Text))
			}
			if j, err := s.client.Job(context.Background(), id); err == nil && !j.Status.Terminal() {
				sawRecordWhileRunning = true
			}
		}
	})
	if len(events) == 0 || events[len(events)-1].Kind != "end" {
		t.Fatalf("the stream does not end with end: %+v", events)
	}
	if !strings.Contains(events[len(events)-1].Raw, `"status":"Completed"`) {
		t.Errorf("end: %s", events[len(events)-1].Raw)
	}
	if strings.Join(texts, ",") != "line 1,line 2,line 3,line 4" {
		t.Errorf("records %q", texts)
	}
	if !sawRecordWhileRunning {
		t.Error("no record arrived before the job ended")
	}
	// A reconnect resumes after the last event it got.
	var again []string
	readEvents(t, s, help, "/jobs/"+id+"/live", "2", func(ev sseEvent) { again = append(again, ev.Kind+":"+ev.ID) })
	if strings.Join(again, ",") != "status:,record:3,record:4,record:5,record:6,end:" {
		t.Errorf("resumed stream: %v", again)
	}

	// The finished job's page: the console as rendered, no live stream.
	st, _, body := portalGet(t, s, help, "/jobs/"+id)
	if st != 200 || !strings.Contains(body, `id="console"`) || !strings.Contains(body, "line 4") ||
		strings.Contains(body, "data-live") || strings.Contains(body, `id="stop-button"`) {
		t.Errorf("job page: %d %s", st, body)
	}
	// The Errors and Warnings tabs show those records only.
	if _, _, body = portalGet(t, s, help, "/jobs/"+id+"?tab=errors"); !strings.Contains(body, `<span class="rec Error"`) ||
		!strings.Contains(body, "oops") || strings.Contains(body, "line 1") || strings.Contains(body, "careful") {
		t.Errorf("errors tab: %s", body)
	}
	if _, _, body = portalGet(t, s, help, "/jobs/"+id+"?tab=warnings"); !strings.Contains(body, `<span class="rec Warning"`) ||
		!strings.Contains(body, "careful") || strings.Contains(body, "oops") {
		t.Errorf("warnings tab: %s", body)
	}
	// The Input tab lists the parameters.
	if _, _, body = portalGet(t, s, help, "/jobs/"+id+"?tab=input"); !strings.Contains(body, "<td>UserName</td><td>jane@contoso.com</td>") {
		t.Errorf("input tab: %s", body)
	}
}

func TestPortalJobsException(t *testing.T) {
	s := permServer(t)
	s.put("user_general_failer", runbooker.LangBash, "#!/bin/bash\n# @param UserName string mandatory - the target\necho before\necho boom >&2\nexit 3\n")
	help := portalClient(t, s, "help@contoso.com")
	id := portalJobStart(t, s, help, "user_general_failer", "jane@contoso.com", "")
	if j := s.waitJob(id); j.Status != runbooker.StatusFailed {
		t.Fatalf("job %s", j.Status)
	}
	_, _, body := portalGet(t, s, help, "/jobs/"+id)
	ex, con := strings.Index(body, `id="job-exception" class="exception"`), strings.Index(body, `id="console"`)
	if ex < 0 || con < 0 || ex > con || !strings.Contains(body[ex:con], "boom") || strings.Contains(body[ex:con], "hidden") {
		t.Errorf("the exception is not shown above the output: %s", body)
	}
	if !strings.Contains(body, `class="status status-Failed"`) {
		t.Error("no Failed status")
	}
}

func TestPortalJobsSource(t *testing.T) {
	s := permServer(t)
	s.put("user_general_printer", runbooker.LangBash, printerScript)
	help := portalClient(t, s, "help@contoso.com")
	id := portalJobStart(t, s, help, "user_general_printer", "jane@contoso.com", "parked")
	// A newer version does not change what the job runs.
	s.put("user_general_printer", runbooker.LangBash, "#!/bin/bash\n# @param UserName string mandatory - the target\necho newer\n")
	st, _, body := portalGet(t, s, help, "/jobs/"+id+"?tab=source")
	if st != 200 || !strings.Contains(body, `id="job-source"`) || !strings.Contains(html.UnescapeString(body), `echo "line $i"; sleep 0.3`) ||
		strings.Contains(body, "echo newer") {
		t.Errorf("source tab: %d %s", st, body)
	}
}

func TestPortalJobsStop(t *testing.T) {
	s := permServer(t)
	s.put("user_general_sleeper", runbooker.LangBash, "#!/bin/bash\n# @param UserName string mandatory - the target\necho started\nsleep 60\n")
	help := portalClient(t, s, "help@contoso.com")
	id := portalJobStart(t, s, help, "user_general_sleeper", "jane@contoso.com", "")
	eventually(t, 10*time.Second, "the job runs", func() bool {
		j, err := s.client.Job(context.Background(), id)
		return err == nil && j.Status == runbooker.StatusRunning
	})
	st, _, page := portalGet(t, s, help, "/jobs/"+id)
	if st != 200 || !strings.Contains(page, `id="stop-button"`) || strings.Contains(page, `id="resume-button"`) ||
		!strings.Contains(page, `data-live="/jobs/`+id+`/live`) || !strings.Contains(page, `id="job-refresh"`) {
		t.Fatalf("running job page: %d %s", st, page)
	}
	// A reader may see the job, not stop it: no button, and the API's reason.
	reader := portalClient(t, s, "reader@contoso.com")
	_, _, rpage := portalGet(t, s, reader, "/jobs/"+id)
	if strings.Contains(rpage, `id="stop-button"`) {
		t.Error("the reader gets a Stop button")
	}
	if st, _, body := portalPost(t, s, reader, "/jobs/"+id+"/stop", url.Values{"csrf": {csrfOf(t, rpage)}}); st != http.StatusForbidden || !strings.Contains(body, "CanRunRunbooks") {
		t.Errorf("reader stop: %d %s", st, body)
	}
	// Without the CSRF token the form is refused.
	if st, _, _ := portalPost(t, s, help, "/jobs/"+id+"/stop", url.Values{}); st != http.StatusForbidden {
		t.Errorf("stop without a CSRF token: %d", st)
	}
	st, hdr, _ := portalPost(t, s, help, "/jobs/"+id+"/stop", url.Values{"csrf": {csrfOf(t, page)}})
	if st != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/jobs/"+id) {
		t.Fatalf("stop: %d %q", st, hdr.Get("Location"))
	}
	if j := s.waitJob(id); j.Status != runbooker.StatusStopped {
		t.Fatalf("after Stop the job is %s", j.Status)
	}
	_, _, page = portalGet(t, s, help, "/jobs/"+id)
	if !strings.Contains(page, `id="job-status" class="status status-Stopped"`) || strings.Contains(page, `id="stop-button"`) {
		t.Errorf("stopped job page: %s", page)
	}
}

func TestPortalJobsResume(t *testing.T) {
	s := permServer(t)
	help := portalClient(t, s, "help@contoso.com")
	id := portalJobStart(t, s, help, "user_security_reset-mfa", "jane@contoso.com", "parked")
	_, _, page := portalGet(t, s, help, "/jobs/"+id)
	if !strings.Contains(page, `id="stop-button"`) || strings.Contains(page, `id="resume-button"`) {
		t.Errorf("a waiting job's buttons: %s", page)
	}
	ctx := context.Background()
	now := s.clock.Now()
	if ids, err := s.m.Store.SuspendWaiting(ctx, runbooker.SuspendParams{Group: "parked", QueuedBefore: now.Add(time.Hour), Reason: "parked for the test", Now: now}); err != nil || len(ids) != 1 {
		t.Fatalf("suspend: %v %v", ids, err)
	}
	_, _, page = portalGet(t, s, help, "/jobs/"+id)
	if !strings.Contains(page, `id="resume-button"`) || !strings.Contains(page, `id="stop-button"`) || !strings.Contains(page, "parked for the test") {
		t.Fatalf("a suspended job's page: %s", page)
	}
	st, hdr, _ := portalPost(t, s, help, "/jobs/"+id+"/resume", url.Values{"csrf": {csrfOf(t, page)}})
	if st != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/jobs/"+id) {
		t.Fatalf("resume: %d %q", st, hdr.Get("Location"))
	}
	if j, err := s.client.Job(ctx, id); err != nil || j.Status != runbooker.StatusNew {
		t.Fatalf("after Resume: %v %+v", err, j)
	}
	// Resuming a job that is not suspended shows the API's reason.
	if st, _, body := portalPost(t, s, help, "/jobs/"+id+"/resume", url.Values{"csrf": {csrfOf(t, page)}}); st/100 != 4 || !strings.Contains(body, "could not be resumed") {
		t.Errorf("resume of a waiting job: %d %s", st, body)
	}
}
