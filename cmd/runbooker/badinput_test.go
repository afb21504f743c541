package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// TestBadInputNeverGets5xx throws malformed requests at every route family:
// each must get a 4xx with a JSON error, never a 500 or a dropped connection.
func TestBadInputNeverGets5xx(t *testing.T) {
	s := startServer(t)
	s.put("org_general_x", runbooker.LangBash, "# @param N int\necho $RB_PARAM_N\n")
	weird := []string{"%00", "..%2F..%2Fetc%2Fpasswd", strings.Repeat("a", 5000), "%FF%FE", "a%20b", "org_general_x%0A"}
	bodies := []string{"", "null", "[]", "{", `{"N":`, `{"N":{"$gt":1}}`, "\x00\x01", strings.Repeat("[", 10000), `{"N":1e400}`, `"str"`}
	type call struct{ method, path string }
	var calls []call
	for _, w := range weird {
		calls = append(calls,
			call{"POST", "/runbook/" + w + "/run"}, call{"POST", "/runbook/" + w + "/start"},
			call{"GET", "/runbook/jobs/" + w + "/status"}, call{"GET", "/runbook/jobs/" + w + "/output/streams?streamTypes=" + w},
			call{"GET", "/api/v1/runbooks/" + w}, call{"PUT", "/api/v1/runbooks/" + w + "?language=bash"},
			call{"DELETE", "/api/v1/runbooks/" + w}, call{"GET", "/api/v1/jobs/" + w + "/streams?after=" + w},
			call{"POST", "/api/v1/jobs/" + w + "/stop"}, call{"PUT", "/api/v1/assets/variable/" + w},
			call{"PUT", "/api/v1/assets/" + w + "/x"}, call{"POST", "/api/v1/groups"}, call{"PUT", "/api/v1/groups/" + w},
			call{"GET", "/api/v1/jobs?cursor=" + w + "&createdAfter=" + w}, call{"PUT", "/api/v1/settings/" + w},
			call{"POST", "/api/worker/v1/register"}, call{"POST", "/api/v1/sync"},
		)
	}
	calls = append(calls, call{"GET", "/api/v1/no/such/route"}, call{"GET", "/runbook/no/such/route"}, call{"POST", "/api/v1/jobs/batch"}, call{"POST", "/runbook/org_general_x/run"}, call{"POST", "/runbook/org_general_x/start?runOn=" + url.QueryEscape("../../x")},
		call{"PUT", "/api/v1/settings/customization"})
	for _, c := range calls {
		for _, b := range bodies {
			st, h, body := s.call(c.method, c.path, s.cred, b)
			if st >= 500 || st == 0 {
				t.Fatalf("%s %s with %.20q: %d %s", c.method, c.path, b, st, body)
			}
			if st >= 400 && st != 405 && !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s: %d without a JSON error (%s)", c.method, c.path, st, h.Get("Content-Type"))
			}
		}
	}
	// Outside the APIs the portal answers, with a page.
	if st, h, _ := s.call("GET", "/no/such/page", "", ""); st != 404 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("an unknown page: %d %s", st, h.Get("Content-Type"))
	}
}
