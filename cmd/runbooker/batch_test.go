package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

const bashHello = `#!/usr/bin/env bash
# Synopsis: Say hello a few times.
# @param Name string - Who to greet.
# @param Times int default=1 - How often.
for ((i = 0; i < ${RB_PARAM_Times:-1}; i++)); do echo "hello $RB_PARAM_Name"; done
`

// jobCount counts a tenant's jobs through the management API, following
// the cursor, optionally of one group only.
func jobCount(t *testing.T, c *rbhttp.Client, runOn string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if runOn != "" {
			q.Set("runOn", runOn)
		}
		page, err := c.Jobs(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Jobs)
		if page.Next == "" {
			return n
		}
		cursor = page.Next
	}
}

// batchBody builds a request body of n entries for runbook.
func batchBody(n int, runbook string) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf(`{"runbook": %q, "parameters": {"Name": "n%d"}}`, runbook, i)
	}
	return `{"jobs": [` + strings.Join(entries, ",") + `]}`
}

// TestJobBatchStart queues three jobs in one request, which all run with
// their own parameters; a refused entry anywhere refuses the whole batch
// with a 4xx naming its index, and creates nothing.
func TestJobBatchStart(t *testing.T) {
	s := startServer(t)
	s.put("org_general_hello", runbooker.LangBash, bashHello)
	st, _, body := s.call("POST", "/api/v1/jobs/batch", s.cred, `{"jobs": [
		{"runbook": "org_general_hello", "parameters": {"Name": "ada", "Times": 2}},
		{"runbook": "org_general_hello", "parameters": {"Name": "bob"}, "runOn": "cloud"},
		{"runbook": "org_general_hello", "parameters": {"Name": "cy", "Times": "3"}}]}`)
	if st != 201 {
		t.Fatalf("batch: %d %s", st, body)
	}
	var resp rbhttp.BatchResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.Jobs) != 3 {
		t.Fatalf("batch answer: %v %s", err, body)
	}
	want := []string{"hello ada\nhello ada\n", "hello bob\n", "hello cy\nhello cy\nhello cy\n"}
	for i, j := range resp.Jobs {
		if j.ID == "" || j.RunbookName != "org_general_hello" || j.Status != runbooker.StatusNew || j.RunOn != runbooker.CloudGroup || j.Caller != "tester" {
			t.Errorf("job %d as answered: %+v", i, j)
		}
		if done := s.waitJob(j.ID); done.Status != runbooker.StatusCompleted {
			t.Errorf("job %d: %s %s", i, done.Status, done.Exception)
		}
		if out, err := s.client.OutputText(context.Background(), j.ID); err != nil || out != want[i] {
			t.Errorf("job %d output %q (%v), want %q", i, out, err, want[i])
		}
	}
	if resp.Jobs[0].ID == resp.Jobs[1].ID || resp.Jobs[1].ID == resp.Jobs[2].ID {
		t.Error("jobs share an id")
	}

	before := jobCount(t, s.client, "")
	refused := []struct {
		name, body string
		status     int
		wantIn     []string
	}{
		{"bad value in the middle", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a"}},
			{"runbook": "org_general_hello", "parameters": {"Name": "b", "Times": "many"}},
			{"runbook": "org_general_hello", "parameters": {"Name": "c"}}]}`, 400, []string{"job 1 of the batch", `"Times"`}},
		{"unknown runbook", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a"}},
			{"runbook": "org_general_hello", "parameters": {"Name": "b"}},
			{"runbook": "org_general_nope", "parameters": {}}]}`, 404, []string{"job 2 of the batch", "org_general_nope"}},
		{"unknown parameter", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a", "Colour": "red"}}]}`, 400, []string{"job 0 of the batch", `"Colour"`}},
		{"unknown group", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a"}, "runOn": "nowhere"}]}`, 400, []string{"job 0 of the batch", "nowhere"}},
		{"no runbook name", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a"}}, {"parameters": {"Name": "b"}}]}`, 400, []string{"job 1 of the batch", "runbook"}},
		{"null entry", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a"}}, null]}`, 400, []string{"job 1 of the batch", "runbook"}},
		{"misspelt field", `{"jobs": [{"runbook": "org_general_hello", "parameter": {"Name": "a"}}]}`, 400, []string{"job 0 of the batch", `"parameter"`}},
		{"parameters not an object", `{"jobs": [{"runbook": "org_general_hello", "parameters": ["a"]}]}`, 400, []string{"job 0 of the batch", "parameters"}},
		{"unknown top-level field", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a"}}], "atomic": true}`, 400, []string{`"atomic"`}},
		{"empty list", `{"jobs": []}`, 400, []string{"empty"}},
		{"no list", `{}`, 400, []string{"empty"}},
		{"empty body", ``, 400, []string{"jobs"}},
		{"broken JSON", `{"jobs": [{"runbook": `, 400, []string{"jobs"}},
		{"a list, not an object", `[{"runbook": "org_general_hello"}]`, 400, []string{"jobs"}},
		{"two values", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a"}}]} {}`, 400, []string{"more than one JSON value"}},
		{"huge number", `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a", "Times": 1e400}}]}`, 400, []string{"job 0 of the batch"}},
		{"NUL in the name", `{"jobs": [{"runbook": "org_general_hello\u0000", "parameters": {"Name": "a"}}]}`, 404, []string{"job 0 of the batch"}},
		{"1001 entries", batchBody(1001, "org_general_hello"), 400, []string{"at most 1000", "1001"}},
	}
	for _, c := range refused {
		st, h, body := s.call("POST", "/api/v1/jobs/batch", s.cred, c.body)
		var e struct{ Error string }
		if st != c.status || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &e) != nil {
			t.Errorf("%s: %d %s, want %d with a JSON error", c.name, st, body, c.status)
			continue
		}
		for _, w := range c.wantIn {
			if !strings.Contains(e.Error, w) {
				t.Errorf("%s: error %q does not name %s", c.name, e.Error, w)
			}
		}
	}
	if after := jobCount(t, s.client, ""); after != before {
		t.Errorf("refused batches created %d jobs", after-before)
	}

	// The typed client sends the same request.
	js, err := s.client.StartBatch(context.Background(), []rbhttp.BatchJob{
		{Runbook: "org_general_hello", Parameters: map[string]any{"Name": "dee"}},
	})
	if err != nil || len(js) != 1 || js[0].Status != runbooker.StatusNew {
		t.Fatalf("client StartBatch: %v %+v", err, js)
	}
	if out, _ := s.client.OutputText(context.Background(), s.waitJob(js[0].ID).ID); out != "hello dee\n" {
		t.Errorf("client batch output %q", out)
	}
	_, err = s.client.StartBatch(context.Background(), []rbhttp.BatchJob{{Runbook: "org_general_hello"}, {Runbook: "org_general_none"}})
	if runbooker.ErrorCode(err) != runbooker.ENOTFOUND || !strings.Contains(runbooker.ErrorMessage(err), "job 1 of the batch") {
		t.Errorf("client StartBatch refused: %v", err)
	}
}

// TestJobBatchStartAuth: the bulk start is a management route like the
// other /api/v1/jobs ones: Basic auth, the admin role, and the credential's
// tenant only.
func TestJobBatchStartAuth(t *testing.T) {
	s := startServer(t)
	s.put("org_general_hello", runbooker.LangBash, bashHello)
	ok := `{"jobs": [{"runbook": "org_general_hello", "parameters": {"Name": "a"}}]}`
	id, secret, _ := strings.Cut(s.cred, ":")
	for _, cred := range []string{"", id + ":wrong", "nosuchid:" + secret} {
		st, h, body := s.call("POST", "/api/v1/jobs/batch", cred, ok)
		if st != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") || !strings.Contains(body, `"error"`) {
			t.Errorf("with %q: %d %q %s", cred, st, h.Get("WWW-Authenticate"), body)
		}
	}
	// A credential acting for a person who holds no role has no rights.
	op, err := s.client.CreateCredential(context.Background(), rbhttp.CredentialInput{Name: "helpdesk", User: "nobody@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	opCred := op.ID + ":" + op.Secret
	stList, _, _ := s.call("GET", "/api/v1/jobs", opCred, "")
	if st, _, body := s.call("POST", "/api/v1/jobs/batch", opCred, ok); st != 403 || st != stList || !strings.Contains(body, "lacks the right CanRunRunbooks") {
		t.Errorf("a person without rights: %d %s (GET /api/v1/jobs answers it %d)", st, body, stList)
	}
	if n := jobCount(t, s.client, ""); n != 0 {
		t.Fatalf("%d jobs after unauthorised batches", n)
	}

	// Another tenant's admin starts in its own tenant: this tenant's runbook
	// is unknown there, and its own jobs are not listed here.
	other, oSecret, err := createCredential(context.Background(), s.m.Store, "other", "intruder", runbooker.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	oc, err := rbhttp.NewClient(s.url, other.ID+":"+oSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, body := s.call("POST", "/api/v1/jobs/batch", other.ID+":"+oSecret, ok); st != 404 || !strings.Contains(body, "job 0 of the batch") {
		t.Errorf("other tenant, this tenant's runbook: %d %s", st, body)
	}
	if _, err := oc.PutRunbook(context.Background(), "org_general_hello", runbooker.LangBash, []byte(bashHello)); err != nil {
		t.Fatal(err)
	}
	js, err := oc.StartBatch(context.Background(), []rbhttp.BatchJob{{Runbook: "org_general_hello", Parameters: map[string]any{"Name": "o"}}})
	if err != nil || len(js) != 1 || js[0].TenantID != "other" || js[0].Caller != "intruder" {
		t.Fatalf("other tenant's own batch: %v %+v", err, js)
	}
	if n := jobCount(t, s.client, ""); n != 0 {
		t.Errorf("this tenant lists %d jobs of the other", n)
	}
	if st, _, _ := s.call("GET", "/api/v1/jobs/"+js[0].ID, s.cred, ""); st != 404 {
		t.Errorf("other tenant's job seen here: %d", st)
	}
}

// TestCLIStartBatch: `runbooker start --batch` reads one job a line from
// a file or stdin, checks every line before sending, and splits long files
// into batches the server accepts.
func TestCLIStartBatch(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	s.put("org_general_hello", runbooker.LangBash, bashHello)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.jsonl", `{"runbook": "org_general_hello", "parameters": {"Name": "ada", "Times": 2}}

{"runbook": "org_general_hello", "parameters": {"Name": "bob"}}`+"\r\n"+
		`{"runbook": "org_general_hello", "parameters": {"Name": "cy"}, "runOn": "cloud"}`+"\n")
	code, out, errOut := s.cli("start", "--batch", good)
	ids := strings.Fields(out)
	if code != 0 || len(ids) != 3 {
		t.Fatalf("start --batch: exit %d out %q err %q", code, out, errOut)
	}
	for i, want := range []string{"hello ada\nhello ada\n", "hello bob\n", "hello cy\n"} {
		j := s.waitJob(ids[i])
		if got, _ := s.client.OutputText(ctx, ids[i]); j.Status != runbooker.StatusCompleted || got != want {
			t.Errorf("line job %d: %s output %q, want %q", i, j.Status, got, want)
		}
	}
	// The same from stdin.
	code, out, errOut = s.cliStdin(`{"runbook": "org_general_hello", "parameters": {"Name": "dee"}}`+"\n", "start", "--batch", "-")
	if code != 0 || len(strings.Fields(out)) != 1 {
		t.Fatalf("start --batch -: exit %d out %q err %q", code, out, errOut)
	}
	if got, _ := s.client.OutputText(ctx, s.waitJob(strings.TrimSpace(out)).ID); got != "hello dee\n" {
		t.Errorf("stdin job output %q", got)
	}

	before := jobCount(t, s.client, "")
	bad := []struct{ name, content, wantIn string }{
		{"malformed line", `{"runbook": "org_general_hello", "parameters": {"Name": "a"}}

{"runbook": "org_general_hello", "parameters": {"Name": `, "line 3 of"},
		{"misspelt field", `{"runbook": "org_general_hello", "parameters": {"Name": "a"}}
{"runbook": "org_general_hello", "params": {"Name": "b"}}`, "line 2 of"},
		{"no runbook", `{"parameters": {"Name": "a"}}`, "line 1 of"},
		{"two objects on a line", `{"runbook": "org_general_hello"} {"runbook": "org_general_hello"}`, "line 1 of"},
		{"refused by the server", `{"runbook": "org_general_hello", "parameters": {"Name": "a"}}


{"runbook": "org_general_hello", "parameters": {"Name": "b", "Times": "many"}}`, `line 4 of`},
		{"only blank lines", "\n\n  \n", "no jobs"},
	}
	for _, c := range bad {
		code, out, errOut := s.cli("start", "--batch", write(strings.ReplaceAll(c.name, " ", "_"), c.content))
		if code == 0 || out != "" || !strings.Contains(errOut, c.wantIn) {
			t.Errorf("%s: exit %d out %q err %q, want an error naming %q", c.name, code, out, errOut, c.wantIn)
		}
	}
	if code, _, errOut := s.cli("start", "--batch", filepath.Join(dir, "missing.jsonl")); code == 0 || !strings.Contains(errOut, "missing.jsonl") {
		t.Errorf("missing file: exit %d err %q", code, errOut)
	}
	if code, _, errOut := s.cli("start", "org_general_hello", "--batch", good); code == 0 || !strings.Contains(errOut, "--batch") {
		t.Errorf("NAME with --batch: exit %d err %q", code, errOut)
	}
	if after := jobCount(t, s.client, ""); after != before {
		t.Errorf("refused batch files created %d jobs", after-before)
	}

	// 1001 lines go as two batches; a group without workers keeps them queued.
	if _, err := s.client.CreateGroup(ctx, rbhttp.GroupView{Name: "parked"}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < 1001; i++ {
		fmt.Fprintf(&b, `{"runbook": "org_general_hello", "parameters": {"Name": "n%d"}}`+"\n", i)
	}
	code, out, errOut = s.cli("start", "--batch", write("long.jsonl", b.String()), "--run-on", "parked")
	ids = strings.Fields(out)
	if code != 0 || len(ids) != 1001 {
		t.Fatalf("1001 lines: exit %d, %d ids, err %q", code, len(ids), errOut)
	}
	if n := jobCount(t, s.client, "parked"); n != 1001 {
		t.Errorf("%d jobs queued on parked, want 1001", n)
	}
	last, err := s.client.Job(ctx, ids[1000])
	if err != nil || last.Parameters["Name"] != "n1000" || last.RunOn != "parked" {
		t.Errorf("job of line 1001: %v %+v", err, last)
	}
	// A refusal in the second batch leaves the first started and says so.
	long := b.String() + `{"runbook": "org_general_nope"}` + "\n"
	code, out, errOut = s.cli("start", "--batch", write("long_bad.jsonl", long), "--run-on", "parked")
	if code == 0 || len(strings.Fields(out)) != 1000 || !strings.Contains(errOut, "line 1002 of") || !strings.Contains(errOut, "printed above") {
		t.Errorf("refused second batch: exit %d, %d ids, err %q", code, len(strings.Fields(out)), errOut)
	}
	if n := jobCount(t, s.client, "parked"); n != 2001 {
		t.Errorf("%d jobs queued on parked, want 2001", n)
	}
}
