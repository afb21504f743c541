package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

const pyGreet = `"""Greet someone.

Args:
    Name: who to greet.
    Times: how often.
"""
def main(Name: str, Times: int = 1, Loud: bool = False):
    print("VERBOSE: about to greet")
    for i in range(Times):
        print(("HELLO " if Loud else "hello ") + Name)
    print("WARNING: greeting done")
`

const bashStreams = `#!/bin/bash
echo "first output"
echo "VERBOSE: a verbose line"
echo "WARNING: a warning line"
echo "DEBUG: a debug line"
echo "INFORMATION: an information line"
echo "PROGRESS: half way"
echo "ERROR: an error via prefix"
echo "to stderr" >&2
echo "last output"
`

func TestExternalRunReturnsStreamsInEmissionOrder(t *testing.T) {
	s := startServer(t)
	s.put("org_general_streams", runbooker.LangBash, bashStreams)
	for _, prefix := range []string{"/api/external/runbook", "/runbook"} {
		st, _, body := s.call("POST", prefix+"/org_general_streams/run", s.cred, "")
		if st != 200 {
			t.Fatalf("%s run: %d %s", prefix, st, body)
		}
		var resp rbhttp.RunResponse
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Status != "Completed" || resp.JobID == "" {
			t.Fatalf("%s: status %q job %q", prefix, resp.Status, resp.JobID)
		}
		var got []string
		for _, r := range resp.Streams {
			if r.StreamText != nil {
				t.Errorf("streamText %q, want null as in RealmJoin's examples (the text is in summary)", *r.StreamText)
			}
			if r.StreamType == "Error" {
				continue // stderr and stdout are separate pipes: their relative order is not defined
			}
			got = append(got, r.StreamType+":"+r.Summary)
		}
		want := []string{"Output:first output", "Verbose:a verbose line", "Warning:a warning line", "Debug:a debug line",
			"Information:an information line", "Progress:half way", "Output:last output"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s streams\n got %v\nwant %v", prefix, got, want)
		}
		var errs []string
		for _, r := range resp.Streams {
			if r.StreamType == "Error" {
				errs = append(errs, r.Summary)
			}
		}
		if strings.Join(errs, "|") != "an error via prefix|to stderr" && strings.Join(errs, "|") != "to stderr|an error via prefix" {
			t.Errorf("Error records: %v", errs)
		}
	}
}

func TestExternalStartStatusOutputAndFilters(t *testing.T) {
	s := startServer(t)
	s.put("user_general_greet", runbooker.LangPython, pyGreet)
	st, _, body := s.call("POST", "/runbook/user_general_greet/start", s.cred, `{"name":"Ada","times":"2"}`)
	if st != 200 {
		t.Fatalf("start: %d %s", st, body)
	}
	var resp rbhttp.RunResponse
	_ = json.Unmarshal([]byte(body), &resp)
	if resp.Status != "New" || resp.JobID == "" {
		t.Fatalf("start answered %s", body)
	}
	j := s.waitJob(resp.JobID)
	if j.Status != runbooker.StatusCompleted {
		t.Fatalf("job %s: %s", j.Status, j.Exception)
	}
	// Declared names win over the caller's spelling; "2" became an int.
	if j.Parameters["Name"] != "Ada" || j.Parameters["Times"] != int64(2) {
		t.Errorf("bound parameters %v", j.Parameters)
	}
	for _, prefix := range []string{"/api/external/runbook", "/runbook"} {
		base := prefix + "/jobs/" + resp.JobID
		st, h, body := s.call("GET", base+"/status", s.cred, "")
		if st != 200 || body != "Completed" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Errorf("status: %d %q %q", st, body, h.Get("Content-Type"))
		}
		st, _, body = s.call("GET", base+"/output/text", s.cred, "")
		if st != 200 || body != "hello Ada\nhello Ada\n" {
			t.Errorf("output/text: %d %q", st, body)
		}
		st, _, body = s.call("GET", base+"/exception/text", s.cred, "")
		if st != 200 || body != "" {
			t.Errorf("exception/text of a completed job: %d %q", st, body)
		}
		for q, want := range map[string]string{
			"?streamTypes=Verbose":                    "Verbose",
			"?streamTypes=verbose,Warning":            "Verbose,Warning",
			"?streamTypes=Warning&streamTypes=Output": "Output,Output,Warning",
			"": "Verbose,Output,Output,Warning",
		} {
			st, _, body = s.call("GET", base+"/output/streams"+q, s.cred, "")
			var recs []rbhttp.ExternalRecord
			if err := json.Unmarshal([]byte(body), &recs); err != nil || st != 200 {
				t.Fatalf("streams%s: %d %s", q, st, body)
			}
			var types []string
			for _, r := range recs {
				types = append(types, r.StreamType)
			}
			if strings.Join(types, ",") != want {
				t.Errorf("streams%s: got %v want %s", q, types, want)
			}
		}
	}
	st, _, body = s.call("GET", "/runbook/jobs/"+resp.JobID+"/output/streams?streamTypes=Bogus", s.cred, "")
	if st != 400 || !strings.Contains(body, "Bogus") {
		t.Errorf("unknown stream type: %d %s", st, body)
	}
}

func TestExternalFailedJobsCarryExceptionText(t *testing.T) {
	s := startServer(t)
	s.put("org_general_py-fail", runbooker.LangPython, "def main():\n    raise ValueError('the mailbox quota is exceeded')\n")
	s.put("org_general_sh-fail", runbooker.LangBash, "#!/bin/bash\necho working\necho 'cannot reach the file server' >&2\nexit 3\n")
	for name, want := range map[string]string{
		"org_general_py-fail": "ValueError: the mailbox quota is exceeded",
		"org_general_sh-fail": "cannot reach the file server (exit status 3)",
	} {
		resp := s.runJSON(name, nil)
		if resp.Status != "Failed" {
			t.Errorf("%s: status %s", name, resp.Status)
		}
		st, _, body := s.call("GET", "/runbook/jobs/"+resp.JobID+"/exception/text", s.cred, "")
		if st != 200 || body != want {
			t.Errorf("%s exception: %d %q, want %q", name, st, body, want)
		}
	}
}

func TestExternalAuthAndNotFoundRules(t *testing.T) {
	s := startServer(t)
	s.put("org_general_streams", runbooker.LangBash, bashStreams)
	resp := s.runJSON("org_general_streams", nil)
	id, secret, _ := strings.Cut(s.cred, ":")
	paths := []struct{ method, path string }{
		{"POST", "/runbook/org_general_streams/run"}, {"POST", "/runbook/org_general_streams/start"},
		{"GET", "/runbook/jobs/" + resp.JobID + "/status"}, {"GET", "/runbook/jobs/" + resp.JobID + "/output/text"},
		{"GET", "/runbook/jobs/" + resp.JobID + "/output/streams"}, {"GET", "/runbook/jobs/" + resp.JobID + "/exception/text"},
		{"GET", "/api/external/runbook/jobs/" + resp.JobID + "/status"},
		{"GET", "/api/v1/runbooks"}, {"GET", "/api/v1/jobs"},
	}
	for _, p := range paths {
		for _, cred := range []string{"", id + ":wrong", "nosuchid:" + secret} {
			st, h, body := s.call(p.method, p.path, cred, "")
			if st != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s %s with %q: %d %q %s", p.method, p.path, cred, st, h.Get("WWW-Authenticate"), body)
			}
		}
	}
	// Another tenant sees nothing of this one.
	other, osecret, err := createCredential(context.Background(), s.m.Store, "other", "intruder", runbooker.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	ocred := other.ID + ":" + osecret
	for _, p := range []string{"/status", "/output/text", "/output/streams", "/exception/text"} {
		if st, _, body := s.call("GET", "/runbook/jobs/"+resp.JobID+p, ocred, ""); st != 404 {
			t.Errorf("other tenant %s: %d %s", p, st, body)
		}
	}
	if st, _, _ := s.call("POST", "/runbook/org_general_streams/run", ocred, ""); st != 404 {
		t.Errorf("other tenant run: %d", st)
	}
	if st, _, _ := s.call("GET", "/api/v1/jobs/"+resp.JobID, ocred, ""); st != 404 {
		t.Errorf("other tenant job get: %d", st)
	}
	for _, p := range []string{"/runbook/nope_x_y/run", "/runbook/nope_x_y/start"} {
		if st, _, body := s.call("POST", p, s.cred, "{}"); st != 404 || !strings.Contains(body, "error") {
			t.Errorf("unknown runbook %s: %d %s", p, st, body)
		}
	}
	if st, _, _ := s.call("GET", "/runbook/jobs/00000000-0000-4000-8000-000000000000/status", s.cred, ""); st != 404 {
		t.Errorf("unknown job: %d", st)
	}
	// An operator (Runbook Runner rights) may run and read jobs, and no more:
	// the management API's changes need Admin.
	op, opSecret, _ := createCredential(context.Background(), s.m.Store, runbooker.DefaultTenant, "helpdesk", runbooker.RoleOperator)
	ocred = op.ID + ":" + opSecret
	if st, _, _ := s.call("GET", "/runbook/jobs/"+resp.JobID+"/status", ocred, ""); st != 200 {
		t.Errorf("operator external: %d", st)
	}
	if st, _, _ := s.call("GET", "/api/v1/jobs", ocred, ""); st != 200 {
		t.Errorf("operator reading the job table: %d", st)
	}
	if st, _, body := s.call("PUT", "/api/v1/runbooks/org_x_y?language=bash", ocred, "echo"); st != 403 || !strings.Contains(body, "lacks the right Admin") {
		t.Errorf("operator changing a runbook: %d %s", st, body)
	}
	if st, _, body := s.call("GET", "/healthz", "", ""); st != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", st, body)
	}
}

func TestExternalParameterValidation(t *testing.T) {
	s := startServer(t)
	s.put("user_general_greet", runbooker.LangPython, pyGreet)
	s.put("org_general_validated", runbooker.LangPowerShell, `param(
    [Parameter(Mandatory = $true)][ValidateSet("Small", "Large")][string] $Size,
    [ValidateRange(1, 10)][int] $Count = 1,
    [datetime] $When,
    [string] $CallerName
)
Write-Output "$Size $Count"
`)
	cases := []struct {
		name, runbook, body, wantIn string
	}{
		{"unknown parameter", "user_general_greet", `{"Name":"a","Colour":"red"}`, `"Colour"`},
		{"missing mandatory", "user_general_greet", `{"Times":2}`, `"Name"`},
		{"wrong int", "user_general_greet", `{"Name":"a","Times":"many"}`, `"Times"`},
		{"wrong bool", "user_general_greet", `{"Name":"a","Loud":"perhaps"}`, `"Loud"`},
		{"fractional int", "user_general_greet", `{"Name":"a","Times":1.5}`, `"Times"`},
		{"not an object", "user_general_greet", `["a"]`, `JSON object`},
		{"broken json", "user_general_greet", `{"Name":`, `JSON object`},
		{"validate set", "org_general_validated", `{"Size":"Medium"}`, `"Size"`},
		{"validate range", "org_general_validated", `{"Size":"Small","Count":11}`, `"Count"`},
		{"datetime", "org_general_validated", `{"Size":"Small","When":"yesterday"}`, `"When"`},
		{"missing mandatory ps", "org_general_validated", `{}`, `"Size"`},
	}
	for _, c := range cases {
		for _, verb := range []string{"run", "start"} {
			st, _, body := s.call("POST", "/runbook/"+c.runbook+"/"+verb, s.cred, c.body)
			var e struct{ Error string }
			if st != 400 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, c.wantIn) {
				t.Errorf("%s (%s): %d %s, want 400 naming %s", c.name, verb, st, body, c.wantIn)
			}
		}
	}
	// Valid values are converted before the job is queued; CallerName is filled.
	st, _, body := s.call("POST", "/runbook/org_general_validated/start", s.cred, `{"size":"large","Count":"7","When":"2026-11-25T10:00:00+01:00"}`)
	if st != 200 {
		t.Fatalf("valid start: %d %s", st, body)
	}
	var resp rbhttp.RunResponse
	_ = json.Unmarshal([]byte(body), &resp)
	j, err := s.client.Job(context.Background(), resp.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Parameters["Size"] != "large" || j.Parameters["Count"] != float64(7) || j.Parameters["When"] != "2026-11-25T10:00:00+01:00" || j.Parameters["CallerName"] != "tester" {
		t.Errorf("bound parameters: %#v", j.Parameters)
	}
}

// TestExternalRunParameterNamesAndBigValues (issue 11 item 5): a runbook
// without @param used to take any name ("", "A=B", "a\nb", "--z"), a NUL
// byte failed the job and a value of 128 KiB or more did too ("argument list
// too long"). Now names and NUL bytes get a 400 naming the parameter, and a
// 1 MB value reaches the runbook.
func TestExternalRunParameterNamesAndBigValues(t *testing.T) {
	s := startServer(t)
	s.put("org_general_free", runbooker.LangBash, "echo \"${#RB_PARAM_Data} $#\"\n")
	s.put("org_general_declared", runbooker.LangBash, "# @param Data string\necho \"${#RB_PARAM_Data}\"\n")
	for _, c := range []struct{ runbook, body, wantIn string }{
		{"org_general_free", `{"":"1"}`, `""`},
		{"org_general_free", `{"A=B":"1"}`, `"A=B"`},
		{"org_general_free", `{"a\nb":"1"}`, `"a\nb"`},
		{"org_general_free", `{"--z":"1"}`, `"--z"`},
		{"org_general_free", `{"9lives":"1"}`, `"9lives"`},
		{"org_general_free", `{"Data":"a\u0000b"}`, `"Data"`},
		{"org_general_free", `{"Data":["x",{"k":"a\u0000"}]}`, `"Data"`},
		{"org_general_declared", `{"Data":"a\u0000b"}`, `"Data"`},
	} {
		st, _, body := s.call("POST", "/runbook/"+c.runbook+"/start", s.cred, c.body)
		var e struct{ Error string }
		if st != 400 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, c.wantIn) {
			t.Errorf("%s %s: %d %s, want 400 naming %s", c.runbook, c.body, st, body, c.wantIn)
		}
	}
	big := strings.Repeat("x", 1<<20)
	for rb, want := range map[string]string{"org_general_free": "1048576 4", "org_general_declared": "1048576"} {
		params := map[string]any{"Data": big}
		if rb == "org_general_free" {
			params["_Other1"] = "y"
		}
		resp := s.runJSON(rb, params)
		if resp.Status != "Completed" || len(resp.Streams) == 0 || resp.Streams[0].Summary != want {
			t.Errorf("%s with a 1 MiB value: %s %.300v", rb, resp.Status, resp.Streams)
		}
	}
}
