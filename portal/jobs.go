package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	rbhttp "github.com/runbooker/runbooker/http"
)

// jobsPageSize is how many jobs one page of the list asks the API for.
const jobsPageSize = 50

func (p *Portal) routeJobs(mux *http.ServeMux) {
	mux.HandleFunc("GET /jobs", p.person(p.handleJobs))
	mux.HandleFunc("GET /jobs/{id}", p.person(p.handleJob))
	mux.HandleFunc("GET /jobs/{id}/live", p.person(p.handleJobLive))
	mux.HandleFunc("POST /jobs/{id}/stop", p.person(p.handleJobChange("stop")))
	mux.HandleFunc("POST /jobs/{id}/resume", p.person(p.handleJobChange("resume")))
}

// jobsFilter is the list's filter form, as the query string carries it.
type jobsFilter struct {
	Status, Runbook, Scope, Category, Caller, Target, From, To, Cursor string
	Limit                                                              string // page size; not in the form
}

func jobsFilterOf(q url.Values) jobsFilter {
	g := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return jobsFilter{Status: g("status"), Runbook: g("runbook"), Scope: g("scope"), Category: g("category"),
		Caller: g("caller"), Target: g("target"), From: g("from"), To: g("to"), Cursor: g("cursor"), Limit: g("limit")}
}

// query is the filter as a query string, without the cursor.
func (f jobsFilter) query() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": f.Status, "runbook": f.Runbook, "scope": f.Scope, "category": f.Category,
		"caller": f.Caller, "target": f.Target, "from": f.From, "to": f.To, "limit": f.Limit} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// jobRow is one line of the jobs table.
type jobRow struct {
	ID, Runbook, Target, Caller, Created, Duration string
	Status                                         runbooker.JobStatus
}

type jobsData struct {
	Filter   jobsFilter
	Statuses []runbooker.JobStatus
	Scopes   []string
	Jobs     []jobRow
	Self     string // this page's URL, which the table polls
	Older    string // the next page's URL; empty on the last
	Search   string // the job id searched for
	NotFound bool   // no job has that id
	Problem  string // a filter the API refused
	Filtered bool   // the portal dropped jobs the API lacks a filter for
}

func (p *Portal) handleJobs(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	q := r.URL.Query()
	d := jobsData{Filter: jobsFilterOf(q), Statuses: runbooker.AllStatuses, Scopes: catalog.Scopes}
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		d.Search = id
		err := p.call(r, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, nil)
		// A job the person may not see still goes to its page, which says why.
		if err == nil || statusOf(err) == http.StatusForbidden {
			http.Redirect(w, r, "/jobs/"+url.PathEscape(id), http.StatusSeeOther)
			return
		}
		d.NotFound = true
	}
	api := url.Values{"limit": {fmt.Sprint(jobsPageSize)}}
	f := d.Filter
	for k, s := range map[string]string{"status": f.Status, "runbook": f.Runbook, "caller": f.Caller, "cursor": f.Cursor, "limit": f.Limit} {
		if s != "" {
			api.Set(k, s)
		}
	}
	for k, s := range map[string]string{"createdAfter": f.From, "createdBefore": f.To} {
		if s != "" {
			api.Set(k, formTime(s))
		}
	}
	var pg runbooker.JobPage
	if err := p.call(r, http.MethodGet, "/api/v1/jobs?"+api.Encode(), nil, &pg); err != nil {
		if statusOf(err) != http.StatusBadRequest {
			p.renderError(w, r, me, statusOf(err), messageOf(err))
			return
		}
		d.Problem = messageOf(err)
	}
	// The API filters by status, runbook, caller and time; scope, category
	// and target it lacks, so the portal applies them to this page's jobs
	// only (a page may then show fewer than its size, and "Older jobs" goes on).
	now := time.Now()
	for _, j := range pg.Jobs {
		if !jobMatches(j, f) {
			d.Filtered = true
			continue
		}
		d.Jobs = append(d.Jobs, rowOf(j, now))
	}
	self := f.query()
	if f.Cursor != "" {
		self.Set("cursor", f.Cursor)
	}
	d.Self = "/jobs?" + self.Encode()
	if pg.Next != "" {
		older := f.query()
		older.Set("cursor", pg.Next)
		d.Older = "/jobs?" + older.Encode()
	}
	status := http.StatusOK
	if d.NotFound {
		status = http.StatusNotFound
	}
	p.render(w, r, me, status, "jobs", "Jobs", d)
}

// formTime turns a datetime-local value (taken as UTC) into the API's
// ISO-8601 form; other values go through for the API to judge.
func formTime(s string) string {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return s
}

// jobMatches applies the filters the API does not have.
func jobMatches(j *runbooker.Job, f jobsFilter) bool {
	if f.Scope != "" || f.Category != "" {
		n, err := catalog.ParseName(j.RunbookName)
		if err != nil || f.Scope != "" && n.Scope != f.Scope ||
			f.Category != "" && !strings.EqualFold(n.Category, f.Category) {
			return false
		}
	}
	if f.Target != "" {
		if j.Target == nil {
			return false
		}
		want := strings.ToLower(f.Target)
		if !strings.Contains(strings.ToLower(j.Target.Name), want) && !strings.EqualFold(j.Target.ID, f.Target) {
			return false
		}
	}
	return true
}

func rowOf(j *runbooker.Job, now time.Time) jobRow {
	return jobRow{ID: j.ID, Runbook: j.RunbookName, Target: targetText(j.Target), Caller: j.Caller,
		Created: stamp(j.CreatedAt), Duration: duration(j, now), Status: j.Status}
}

func targetText(t *runbooker.JobTarget) string {
	if t == nil {
		return ""
	}
	name := t.Name
	if name == "" {
		name = t.ID
	}
	return t.Kind + ": " + name
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// duration is how long a job ran, or has run so far.
func duration(j *runbooker.Job, now time.Time) string {
	if j.StartedAt.IsZero() {
		return ""
	}
	end := j.EndedAt
	if end.IsZero() {
		if j.Status.Terminal() {
			return ""
		}
		end = now
	}
	d := end.Sub(j.StartedAt)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// jobTabs are the job page's tabs, in order.
var jobTabs = []struct{ Key, Label string }{
	{"output", "Output"}, {"input", "Input"}, {"errors", "Errors"}, {"warnings", "Warnings"}, {"source", "Source"},
}

type jobParam struct{ Name, Value string }

type jobData struct {
	Job        *runbooker.Job
	Target     string
	Created    string
	Started    string
	Ended      string
	Duration   string
	Tab        string
	Tabs       []struct{ Key, Label string }
	Records    []runbooker.StreamRecord
	LastSeq    int64
	Live       bool // not terminal: the console follows the job
	Params     []jobParam
	Source     string
	SourceErr  string
	StreamsErr string
	CanStop    bool
	CanResume  bool
}

func (p *Portal) handleJob(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	id := r.PathValue("id")
	var j runbooker.Job
	if err := p.call(r, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, &j); err != nil {
		msg := messageOf(err)
		if statusOf(err) == http.StatusNotFound {
			msg = "There is no job with the id " + id + "."
		}
		p.renderError(w, r, me, statusOf(err), msg)
		return
	}
	d := jobData{Job: &j, Target: targetText(j.Target), Created: stamp(j.CreatedAt), Started: stamp(j.StartedAt),
		Ended: stamp(j.EndedAt), Duration: duration(&j, time.Now()), Tab: r.URL.Query().Get("tab"), Tabs: jobTabs,
		Live: !j.Status.Terminal()}
	switch d.Tab {
	case "output", "input", "errors", "warnings", "source":
	default:
		d.Tab = "output"
	}
	mayRun := hasRight(me, "CanRunRunbooks")
	switch j.Status {
	case runbooker.StatusNew, runbooker.StatusActivating, runbooker.StatusRunning, runbooker.StatusSuspended:
		d.CanStop = mayRun
	}
	d.CanResume = mayRun && j.Status == runbooker.StatusSuspended
	switch d.Tab {
	case "output", "errors", "warnings":
		path := "/api/v1/jobs/" + url.PathEscape(j.ID) + "/streams"
		if d.Tab == "errors" {
			path += "?streamTypes=Error"
		} else if d.Tab == "warnings" {
			path += "?streamTypes=Warning"
		}
		var s struct {
			Records []runbooker.StreamRecord `json:"records"`
		}
		if err := p.call(r, http.MethodGet, path, nil, &s); err != nil {
			d.StreamsErr = messageOf(err)
		}
		d.Records = s.Records
		if n := len(s.Records); n > 0 {
			d.LastSeq = s.Records[n-1].Seq
		}
	case "input":
		for k, v := range j.Parameters {
			s, ok := v.(string)
			if !ok {
				b, _ := json.Marshal(v)
				s = string(b)
			}
			d.Params = append(d.Params, jobParam{k, s})
		}
		sort.Slice(d.Params, func(a, b int) bool { return d.Params[a].Name < d.Params[b].Name })
	case "source":
		var src []byte
		if err := p.call(r, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(j.ID)+"/source", nil, &src); err != nil {
			d.SourceErr = messageOf(err)
		}
		d.Source = string(src)
	}
	p.render(w, r, me, http.StatusOK, "job", "Job "+j.RunbookName, d)
}

func hasRight(me *rbhttp.MeView, right string) bool {
	pg := page{Me: me}
	return pg.Has(right)
}

// handleJobChange stops or resumes a job through the API and goes back to
// its page; a refusal shows the API's reason.
func (p *Portal) handleJobChange(action string) func(http.ResponseWriter, *http.Request, *rbhttp.MeView) {
	return func(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
		id := r.PathValue("id")
		var j runbooker.Job
		if err := p.call(r, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(id)+"/"+action, nil, &j); err != nil {
			p.renderError(w, r, me, statusOf(err), "The job could not be "+map[string]string{"stop": "stopped", "resume": "resumed"}[action]+": "+messageOf(err))
			return
		}
		flash := "Stop requested."
		if action == "resume" {
			flash = "Resumed."
		}
		http.Redirect(w, r, "/jobs/"+url.PathEscape(id)+"?flash="+url.QueryEscape(flash), http.StatusSeeOther)
	}
}

// liveEvery is how often the live console asks for new records.
const liveEvery = 250 * time.Millisecond

// liveRecord is a console record as the live stream sends it.
type liveRecord struct {
	Seq  int64                `json:"seq"`
	Type runbooker.StreamType `json:"type"`
	Text string               `json:"text"`
	Time time.Time            `json:"time"`
}

// liveStatus is a status change as the live stream sends it.
type liveStatus struct {
	Status    runbooker.JobStatus `json:"status"`
	Reason    string              `json:"reason,omitempty"`
	Exception string              `json:"exception,omitempty"`
	Ended     string              `json:"ended,omitempty"`
}

// handleJobLive is the live console: server-sent events with every stream
// record as it arrives ("record", the record's seq as the event id, so a
// reconnecting browser resumes after the last it got), each status change
// ("status") and, once the job is terminal, "end", after which the stream
// closes. It asks the API in-process, as the person, every liveEvery.
func (p *Portal) handleJobLive(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	id := url.PathEscape(r.PathValue("id"))
	var j runbooker.Job
	if err := p.call(r, http.MethodGet, "/api/v1/jobs/"+id, nil, &j); err != nil {
		http.Error(w, messageOf(err), statusOf(err))
		return
	}
	var after int64
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if n, err := parseSeq(v); err == nil {
			after = n
			break
		}
	}
	rc := http.NewResponseController(w)
	// The server's timeouts are for ordinary answers: a stream lasts as
	// long as the job (a reconnect resumes anyway). A browser that went
	// away is found by the keep-alive comments.
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event, eventID string, v any) bool {
		b, _ := json.Marshal(v)
		if eventID != "" {
			fmt.Fprintf(w, "id: %s\n", eventID)
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	statusOfJob := func(j *runbooker.Job) liveStatus {
		return liveStatus{Status: j.Status, Reason: j.StatusReason, Exception: j.Exception, Ended: stamp(j.EndedAt)}
	}
	if !send("status", "", statusOfJob(&j)) {
		return
	}
	last := j.Status
	tick := time.NewTicker(liveEvery)
	defer tick.Stop()
	keepAlive := time.Now()
	for {
		var s struct {
			JobStatus runbooker.JobStatus      `json:"jobStatus"`
			Records   []runbooker.StreamRecord `json:"records"`
		}
		if err := p.call(r, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%s/streams?after=%d", id, after), nil, &s); err != nil {
			return // the browser reconnects; a lasting refusal then fails it
		}
		for _, rec := range s.Records {
			if !send("record", fmt.Sprint(rec.Seq), liveRecord{Seq: rec.Seq, Type: rec.Type, Text: rec.Text, Time: rec.Time}) {
				return
			}
			after = rec.Seq
		}
		// The streams answer reads the job before its records, so a
		// terminal status there means every record has been sent.
		if s.JobStatus != last || s.JobStatus.Terminal() {
			j = runbooker.Job{}
			if err := p.call(r, http.MethodGet, "/api/v1/jobs/"+id, nil, &j); err != nil {
				return
			}
			if s.JobStatus.Terminal() {
				j.Status = s.JobStatus
				send("end", "", statusOfJob(&j))
				return
			}
			last = s.JobStatus
			if !send("status", "", statusOfJob(&j)) {
				return
			}
		}
		if time.Since(keepAlive) > 15*time.Second {
			// A comment now and then finds browsers that went away.
			if _, err := fmt.Fprint(w, ": alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			keepAlive = time.Now()
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func parseSeq(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil && n < 0 {
		err = fmt.Errorf("negative sequence number %d", n)
	}
	return n, err
}
