package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/runbooker/runbooker"
)

// openAPIChecker sends requests to a server and holds each request and its
// answer to the OpenAPI document the server serves at /api/openapi.json.
//
// The document is OpenAPI 3.1 but keeps to the subset kin-openapi v0.153
// validates: its schemas use components $refs and no 2020-12-only keywords,
// so kin-openapi checks them with its built-in validator, which understands
// 3.1 type arrays (["array", "null"] for Go slices that may be nil) but
// rejects null for an empty schema {}; "any JSON value" is therefore
// spelled as a type array of every type. No "nullable" (3.0 only), no
// $dynamicRef, no prefixItems. Objects are additionalProperties: false, so
// a field the document does not name fails the test. The event stream
// (text/event-stream) is not called here: it never ends.
type openAPIChecker struct {
	t      *testing.T
	s      *server
	doc    *openapi3.T
	router routers.Router
	called map[string]bool // "METHOD /path" of the document's operations called
}

func newOpenAPIChecker(t *testing.T, s *server) *openAPIChecker {
	t.Helper()
	st, h, body := s.call("GET", "/api/openapi.json", "", "")
	if st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json without credentials: %d %s", st, h.Get("Content-Type"))
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData([]byte(body))
	if err != nil {
		t.Fatalf("loading the served document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the served document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: s.url}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &openAPIChecker{t: t, s: s, doc: doc, router: router, called: map[string]bool{}}
}

// call does a request with cred (id:secret, or "") or through hc (a
// signed-in browser) and fails the test when its status is not want or the
// request or the answer does not match the document. It returns the body.
func (c *openAPIChecker) call(hc *http.Client, method, path, cred, contentType, body string, want int) string {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if cred != "" {
		id, secret, _ := strings.Cut(cred, ":")
		req.SetBasicAuth(id, secret)
	}
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if hc == nil {
		hc = http.DefaultClient
	} else {
		req.Header.Set("Origin", c.s.url)
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	what := method + " " + path
	if resp.StatusCode != want {
		c.t.Errorf("%s: status %d, want %d: %s", what, resp.StatusCode, want, got)
	}

	// Validate against a fresh request: the sent one's body is consumed.
	vreq, _ := http.NewRequest(method, c.s.url+path, strings.NewReader(body))
	vreq.Header = req.Header.Clone()
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		c.t.Errorf("%s: not in the document: %v", what, err)
		return string(got)
	}
	c.called[route.Method+" "+route.Path] = true
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, // a status the document does not list is an error
		MultiError:            true,
	}
	if method == http.MethodGet && strings.HasPrefix(path, "/api/v1/settings/") {
		// Settings documents are answered as stored, comments and trailing
		// commas included: not strict JSON, so their body is not decoded.
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	// Requests meant to be refused as invalid need not match the document.
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && want != http.StatusBadRequest {
		c.t.Errorf("%s: the request does not match the document: %v", what, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Options: opts}
	out.SetBodyBytes(got)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Errorf("%s: the %d answer does not match the document: %v\n%s", what, resp.StatusCode, err, got)
	}
	return string(got)
}

// events opens the live event stream as cred, runs during, and checks
// every event that arrives until each of the kinds in want was seen: its
// data must match the schema the document's x-events names for its kind.
func (c *openAPIChecker) events(cred string, during func(), want ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.s.url+"/api/v1/events", nil)
	id, secret, _ := strings.Cut(cred, ":")
	req.SetBasicAuth(id, secret)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("GET /api/v1/events: not in the document: %v", err)
	}
	c.called[route.Method+" "+route.Path] = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	// The body never ends: status and headers are checked here, the
	// events one by one below.
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, ExcludeResponseBody: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(nil)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.t.Errorf("GET /api/v1/events: the %d answer does not match the document: %v", resp.StatusCode, err)
	}
	kinds, _ := route.Operation.Extensions["x-events"].(map[string]any)
	if len(kinds) == 0 {
		c.t.Fatal("GET /api/v1/events has no x-events in the document")
	}

	type event struct{ kind, data string }
	got := make(chan event)
	go func() {
		defer close(got)
		sc := bufio.NewScanner(resp.Body)
		var e event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				e.kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				e.data = strings.TrimPrefix(line, "data: ")
			case line == "" && e.kind != "":
				select {
				case got <- e:
				case <-ctx.Done():
					return
				}
				e = event{}
			}
		}
	}()
	go during()
	missing := map[string]bool{}
	for _, k := range want {
		missing[k] = true
	}
	for len(missing) > 0 {
		e, ok := <-got
		if !ok {
			c.t.Fatalf("the event stream ended without %v", missing)
		}
		delete(missing, e.kind)
		name, _ := kinds[e.kind].(string)
		ref := c.doc.Components.Schemas[name]
		if ref == nil {
			c.t.Errorf("event %s: the document names no schema for it (x-events)", e.kind)
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(e.data), &v); err != nil {
			c.t.Errorf("event %s: data is not JSON: %v: %s", e.kind, err, e.data)
			continue
		}
		if err := ref.Value.VisitJSON(v); err != nil {
			c.t.Errorf("event %s: data does not match %s: %v\n%s", e.kind, name, err, e.data)
		}
	}
}

// logUncalled lists the document's operations no call checked, so a
// reader sees what the test leaves to others.
func (c *openAPIChecker) logUncalled() {
	var left []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			if !c.called[method+" "+path] {
				left = append(left, method+" "+path)
			}
		}
	}
	if len(left) == 0 {
		return
	}
	slices.Sort(left)
	c.t.Logf("%d operations not exercised here: %s", len(left), strings.Join(left, ", "))
}

// json is call with a JSON body (or none).
func (c *openAPIChecker) json(method, path, cred, body string, want int) string {
	c.t.Helper()
	return c.call(nil, method, path, cred, "application/json", body, want)
}

// TestOpenAPIResponses calls a representative set of routes of every API
// and checks each answer (success and error) against http/openapi.json.
func TestOpenAPIResponses(t *testing.T) {
	s := permServer(t)
	c := newOpenAPIChecker(t, s)
	admin := s.cred
	reader := boundCredential(t, s, "reader@contoso.com")
	ctx := context.Background()

	// Public.
	c.json("GET", "/healthz", "", "", 200)
	c.json("GET", "/api/openapi.json", "", "", 200)
	c.json("GET", "/api/v1/version", admin, "", 200)

	// Runbooks: upload (created, then changed), list, get, source, form.
	const greet = "#!/bin/bash\n# @param Name string mandatory - who to greet\n# @param Loud bool - shout\necho \"hello $Name\"\necho 'to stderr' >&2\n"
	c.call(nil, "PUT", "/api/v1/runbooks/org_general_greet?language=bash", admin, "text/plain", greet, 201)
	c.call(nil, "PUT", "/api/v1/runbooks/org_general_greet?language=bash&logVerbose=false", admin, "text/plain", greet+"# v2\n", 200)
	c.json("GET", "/api/v1/runbooks", admin, "", 200)
	c.json("GET", "/api/v1/runbooks?forms=false&scope=user", admin, "", 200)
	c.json("GET", "/api/v1/runbooks/org_general_greet", admin, "", 200)
	c.json("GET", "/api/v1/runbooks/user_security_reset-mfa", admin, "", 200)
	c.json("GET", "/api/v1/runbooks/org_general_greet/source", admin, "", 200)
	c.json("POST", "/api/v1/runbooks/org_general_greet/form-preview", admin,
		`{"Runbooks": {"org_general_greet": {"ParameterList": [{"Name": "Loud", "DisplayName": "Shout it"}]}}}`, 200)

	// The external API under both prefixes: run, start, status, output, exception.
	var run struct{ JobID string }
	body := c.json("POST", "/api/external/runbook/org_general_greet/run", admin, `{"Name": "world"}`, 200)
	if err := json.Unmarshal([]byte(body), &run); err != nil || run.JobID == "" {
		t.Fatalf("run answer %s: %v", body, err)
	}
	c.json("POST", "/runbook/org_general_greet/run", admin, `{"Name": "sun"}`, 200)
	body = c.json("POST", "/runbook/org_general_greet/start", admin, `{"Name": "moon"}`, 200)
	var start struct{ JobID string }
	_ = json.Unmarshal([]byte(body), &start)
	s.waitJob(start.JobID)
	for _, prefix := range []string{"/api/external/runbook", "/runbook"} {
		for _, id := range []string{run.JobID, start.JobID} {
			c.json("GET", prefix+"/jobs/"+id+"/status", admin, "", 200)
			c.json("GET", prefix+"/jobs/"+id+"/output/text", admin, "", 200)
			c.json("GET", prefix+"/jobs/"+id+"/output/streams", admin, "", 200)
			c.json("GET", prefix+"/jobs/"+id+"/output/streams?streamTypes=Output,Error", admin, "", 200)
			c.json("GET", prefix+"/jobs/"+id+"/exception/text", admin, "", 200)
		}
	}
	// A failing job has an exception.
	c.call(nil, "PUT", "/api/v1/runbooks/org_general_fail?language=bash", admin, "text/plain", "#!/bin/bash\necho 'it broke' >&2\nexit 3\n", 201)
	body = c.json("POST", "/api/external/runbook/org_general_fail/run", admin, "", 200)
	var failed struct{ JobID string }
	_ = json.Unmarshal([]byte(body), &failed)
	c.json("GET", "/api/external/runbook/jobs/"+failed.JobID+"/exception/text", admin, "", 200)

	// Jobs: list, page, one, records, source, batch; stop a queued one.
	c.json("GET", "/api/v1/jobs", admin, "", 200)
	c.json("GET", "/api/v1/jobs?limit=1&status=Completed,Failed", admin, "", 200)
	c.json("GET", "/api/v1/jobs/"+run.JobID, admin, "", 200)
	c.json("GET", "/api/v1/jobs/"+run.JobID+"/streams", admin, "", 200)
	c.json("GET", "/api/v1/jobs/"+run.JobID+"/streams?after=1&limit=5", admin, "", 200)
	c.json("GET", "/api/v1/jobs/"+run.JobID+"/source", admin, "", 200)
	c.json("POST", "/api/v1/jobs/batch", admin, `{"jobs": [{"runbook": "org_general_greet", "parameters": {"Name": "a"}, "runOn": "parked"}, {"runbook": "org_general_report", "runOn": "parked"}]}`, 201)
	body = c.json("POST", "/runbook/org_general_greet/start?runOn=parked", admin, `{"Name": "parked"}`, 200)
	var parked struct{ JobID string }
	_ = json.Unmarshal([]byte(body), &parked)
	c.json("GET", "/api/v1/jobs/"+parked.JobID, admin, "", 200) // New, with the reason it waits
	c.json("POST", "/api/v1/jobs/"+parked.JobID+"/stop", admin, "", 200)

	// Live events: a job's creation and status changes.
	c.events(admin, func() {
		// Not s.call: this runs outside the test's goroutine, where it must not fail the test.
		req, _ := http.NewRequest("POST", s.url+"/runbook/org_general_greet/start", strings.NewReader(`{"Name": "events"}`))
		id, secret, _ := strings.Cut(admin, ":")
		req.SetBasicAuth(id, secret)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}, "job.created", "job.status")

	// Groups and workers.
	c.json("GET", "/api/v1/groups", admin, "", 200)
	c.json("GET", "/api/v1/groups/parked", admin, "", 200)
	c.json("GET", "/api/v1/groups/cloud", admin, "", 200)
	c.json("POST", "/api/v1/groups", admin, `{"name": "edge", "capacity": 2}`, 201)
	c.json("PUT", "/api/v1/groups/edge", admin, `{"name": "edge", "capacity": 3}`, 200)
	c.json("POST", "/api/v1/groups/edge/rotate-token", admin, `{"tokenMaxUses": 1}`, 200)
	c.json("GET", "/api/v1/workers", admin, "", 200)
	c.json("DELETE", "/api/v1/groups/edge", admin, "", 204)

	// Webhooks: create (the token shown once), list, get, change, call, delete.
	body = c.json("POST", "/api/v1/webhooks", admin, `{"name": "hook", "runbookName": "org_general_greet", "parameters": {"Name": "hook"}}`, 201)
	var hook struct{ ID, Token string }
	if err := json.Unmarshal([]byte(body), &hook); err != nil || hook.Token == "" {
		t.Fatalf("webhook create answer %s: %v", body, err)
	}
	c.json("GET", "/api/v1/webhooks", admin, "", 200)
	c.json("GET", "/api/v1/webhooks/"+hook.ID, admin, "", 200)
	c.json("PUT", "/api/v1/webhooks/"+hook.ID, admin, `{"enabled": true, "runOn": "parked"}`, 200)
	c.json("POST", "/webhooks/"+hook.Token, "", `{"from": "openapi"}`, 202)
	c.json("POST", "/webhooks/no-such-token", "", `{}`, 404)
	c.json("GET", "/api/v1/webhooks", reader, "", 403)
	c.json("DELETE", "/api/v1/webhooks/"+hook.ID, admin, "", 204)
	// Schedules and job schedules.
	c.call(nil, "PUT", "/api/v1/runbooks/org_general_greet_scheduled?language=bash", admin, "text/plain", greet, 201)
	c.json("PUT", "/api/v1/schedules/nightly", admin, `{"startTime": "2030-01-01T02:30:00Z", "frequency": "Month", "interval": 1,
		"timeZone": "Europe/Berlin", "monthlyOccurrences": [{"occurrence": "Last", "day": "Friday"}], "isEnabled": true}`, 200)
	c.json("POST", "/api/v1/schedules/defaults", admin, "", 200)
	c.json("GET", "/api/v1/schedules", admin, "", 200)
	c.json("GET", "/api/v1/schedules/nightly", admin, "", 200)
	c.json("POST", "/api/v1/jobschedules", admin, `{"scheduleName": "nightly", "runbookName": "org_general_greet", "parameters": {"Name": "x"}}`, 403)
	var link struct{ ID string }
	body = c.json("POST", "/api/v1/jobschedules", admin, `{"scheduleName": "nightly", "runbookName": "org_general_greet_scheduled", "parameters": {"Name": "x"}}`, 201)
	if err := json.Unmarshal([]byte(body), &link); err != nil || link.ID == "" {
		t.Fatalf("link answer %s: %v", body, err)
	}
	c.json("GET", "/api/v1/jobschedules?schedule=nightly", admin, "", 200)
	c.json("DELETE", "/api/v1/jobschedules/"+link.ID, admin, "", 204)
	c.json("DELETE", "/api/v1/schedules/nightly", admin, "", 204)

	// Assets: a plain variable shows its value, a secret one does not.
	c.json("PUT", "/api/v1/assets/variable/region", admin, `{"description": "where", "value": "eu-west"}`, 200)
	c.json("PUT", "/api/v1/assets/variable/apikey", admin, `{"encrypted": true, "value": "s3cret"}`, 200)
	c.json("GET", "/api/v1/assets", admin, "", 200)
	c.json("GET", "/api/v1/assets?type=variable", admin, "", 200)
	c.json("GET", "/api/v1/assets/variable/region", admin, "", 200)
	c.json("GET", "/api/v1/assets/variable/apikey", admin, "", 200)
	c.json("DELETE", "/api/v1/assets/variable/apikey", admin, "", 204)

	// The worker protocol, as a worker of the parked group speaks it: the
	// batch above left jobs queued there.
	var token struct{ Token string }
	_ = json.Unmarshal([]byte(c.json("POST", "/api/v1/groups/parked/rotate-token", admin, "", 200)), &token)
	var reg struct{ WorkerID, Secret string }
	_ = json.Unmarshal([]byte(c.json("POST", "/api/worker/v1/register", "",
		`{"token": "`+token.Token+`", "name": "w1", "version": "test", "os": "linux", "arch": "amd64", "hostname": "h1", "languages": ["bash"]}`, 200)), &reg)
	worker := reg.WorkerID + ":" + reg.Secret
	var claim struct {
		Jobs []struct {
			Job struct {
				ID      string
				Attempt int
			}
		}
	}
	_ = json.Unmarshal([]byte(c.json("POST", "/api/worker/v1/claim", worker, `{"capacity": 1, "waitSeconds": 0}`, 200)), &claim)
	if len(claim.Jobs) != 1 {
		t.Fatalf("claim: %d jobs, want 1", len(claim.Jobs))
	}
	wj, attempt := "/api/worker/v1/jobs/"+claim.Jobs[0].Job.ID, strconv.Itoa(claim.Jobs[0].Job.Attempt)
	c.json("POST", "/api/worker/v1/heartbeat", worker, `{"refs": [{"id": "`+claim.Jobs[0].Job.ID+`", "attempt": `+attempt+`}]}`, 200)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	c.json("POST", wj+"/start", worker, `{"attempt": `+attempt+`, "startedAt": "`+now+`"}`, 204)
	c.json("POST", wj+"/streams", worker, `{"attempt": `+attempt+`, "records": [{"seq": 1, "time": "`+now+`", "streamType": "Output", "streamText": "hi"}]}`, 204)
	c.json("GET", wj+"/assets/variable/region?attempt="+attempt, worker, "", 200)
	c.json("PUT", wj+"/assets/variable/region?attempt="+attempt, worker, `{"value": "eu-north"}`, 204)
	c.json("POST", wj+"/finish", worker, `{"attempt": `+attempt+`, "status": "Completed"}`, 200)
	// A finish that claims: the job and the jobs claimed with it; a stale
	// attempt's is refused.
	c.json("POST", wj+"/finish", worker, `{"attempt": `+strconv.Itoa(claim.Jobs[0].Job.Attempt+1)+`, "status": "Completed", "claim": 1}`, 409)
	var fin struct {
		Claimed struct {
			Jobs []struct{ Job struct{ ID string } }
		}
	}
	_ = json.Unmarshal([]byte(c.json("POST", wj+"/finish", worker, `{"attempt": `+attempt+`, "status": "Completed", "claim": 1}`, 200)), &fin)
	for _, j := range fin.Claimed.Jobs {
		c.json("POST", "/api/worker/v1/jobs/"+j.Job.ID+"/finish", worker, `{"attempt": 1, "status": "Completed"}`, 200)
	}
	c.json("POST", "/api/worker/v1/state", worker, `{"state": "draining"}`, 204)
	c.json("GET", "/api/v1/workers?group=parked", admin, "", 200)
	c.json("GET", "/api/v1/groups/parked", admin, "", 200)
	c.json("POST", "/api/worker/v1/claim", reg.WorkerID+":wrong", `{"capacity": 1}`, 401)
	c.json("DELETE", "/api/v1/workers/"+reg.WorkerID, admin, "", 204)

	// Sync, with no source configured.
	c.json("GET", "/api/v1/sync/sources", admin, "", 200)
	c.json("POST", "/api/v1/sync", admin, `{}`, 200)
	c.json("GET", "/api/v1/sync/sources/no-such-source", admin, "", 404)
	c.json("PUT", "/api/v1/sync/sources/upstream", admin,
		`{"url": "https://git.example.com/runbooks.git", "prefix": "up-", "interval": "15m", "credentials": {"token": "t0ken"}}`, 201)
	c.json("POST", "/api/v1/sync/sources", admin, `{"id": "other", "url": "https://git.example.com/other.git", "prefix": "other-"}`, 201)
	c.json("GET", "/api/v1/sync/sources/upstream", admin, "", 200)
	c.json("GET", "/api/v1/sync/sources", admin, "", 200)
	c.json("DELETE", "/api/v1/sync/sources/other?keepRunbooks=true", admin, "", 200)

	// Settings.
	c.json("GET", "/api/v1/settings/permissions", admin, "", 200)
	c.json("GET", "/api/v1/settings/customization", admin, "", 200)
	c.json("PUT", "/api/v1/settings/customization", admin, `{"Runbooks": {}}`, 204)

	// People, directory, targets, roles, audit.
	c.json("GET", "/api/v1/me", admin, "", 200)
	c.json("GET", "/api/v1/me", reader, "", 200)
	hc := portalClient(t, s, "help@contoso.com")
	c.call(hc, "GET", "/api/v1/me", "", "", "", 200)
	c.call(hc, "GET", "/api/v1/targets/user/u-jane/runbooks", "", "", "", 200)
	c.call(hc, "POST", "/api/v1/auth/signout", "", "", "", 204)
	c.json("POST", "/api/v1/auth/signin", "", `{"userName": "help@contoso.com", "password": "correct horse help@contoso.com"}`, 200)
	c.json("GET", "/api/v1/targets/device/d-ceo/runbooks", admin, "", 200)
	c.json("GET", "/api/v1/directory/users?search=ja", admin, "", 200)
	c.json("GET", "/api/v1/directory/users/u-jane", admin, "", 200)
	c.json("GET", "/api/v1/directory/groups/g-vip", admin, "", 200)
	c.json("GET", "/api/v1/roles", admin, "", 200)
	c.json("GET", "/api/v1/users", admin, "", 200)
	c.json("POST", "/api/v1/users", admin, `{"upn": "new@contoso.com", "displayName": "New", "password": "a long enough password"}`, 201)
	c.json("PUT", "/api/v1/users/new@contoso.com", admin, `{"disabled": true}`, 200)
	c.json("DELETE", "/api/v1/users/new@contoso.com", admin, "", 204)
	c.json("GET", "/api/v1/credentials", admin, "", 200)
	c.json("POST", "/api/v1/credentials", admin, `{"name": "ci", "role": "operator"}`, 201)
	c.json("GET", "/api/v1/audit", admin, "", 200)
	c.json("GET", "/api/v1/audit?limit=2&action=job.", admin, "", 200)

	// Errors: 400, 401, 403, 404, and the JSON 404 of an unknown API route.
	c.json("GET", "/api/v1/jobs?limit=0", admin, "", 400)
	c.json("GET", "/api/v1/audit?since=yesterday", admin, "", 400)
	c.json("POST", "/api/external/runbook/org_general_greet/run", admin, `[1, 2]`, 400)
	c.json("POST", "/api/external/runbook/org_general_greet/start", admin, `{}`, 400) // Name is mandatory
	c.json("GET", "/api/v1/me", "nobody:wrong", "", 401)
	c.json("GET", "/api/v1/auth/oidc/login", "", "", 404) // not configured here
	c.json("GET", "/api/v1/audit", reader, "", 403)
	c.json("POST", "/runbook/org_general_greet/start", reader, `{"Name": "x"}`, 403)
	c.json("GET", "/api/v1/jobs/no-such-job", admin, "", 404)
	c.json("GET", "/api/external/runbook/jobs/no-such-job/status", admin, "", 404)
	c.json("GET", "/api/v1/runbooks/no-such-runbook", admin, "", 404)
	c.json("GET", "/api/v1/settings/no-such-setting", admin, "", 404)
	c.json("DELETE", "/api/v1/runbooks/org_general_fail", admin, "", 204)
	if _, err := s.m.Store.Job(ctx, runbooker.DefaultTenant, run.JobID); err != nil {
		t.Fatal(err)
	}
	body = c.json("POST", "/api/v1/credentials", admin, `{"name": "short-lived"}`, 201)
	var cred struct{ ID string }
	_ = json.Unmarshal([]byte(body), &cred)
	c.json("DELETE", "/api/v1/credentials/"+cred.ID, admin, "", 204)
	c.json("POST", "/api/v1/jobs/"+run.JobID+"/resume", admin, "", 400) // only a suspended job resumes
	c.json("GET", "/api/v1/auth/oidc/callback?code=x&state=y", "", "", 404)
	st, _, _ := s.call("GET", "/api/v1/no-such-route", admin, "")
	if st != 404 {
		t.Errorf("unknown API route: %d, want 404", st)
	}
	c.logUncalled()
}
