package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// portalFormRunbook has a select whose options change another field:
// "keep" hides Note, "replace" makes it mandatory.
const portalFormRunbook = `#!/bin/bash
# Synopsis: Portal form test.
# @param UserName string mandatory - the user
# @param Mode string default=keep - What to do
# @param Length int default=12 range=8..64 - Password length
# @param Note string - A note
# @param Tags string[] - Labels
# RunbookCustomization: {
#   "Parameters": {"Mode": {"Select": {"Options": [
#     {"Display": "Keep it", "Value": "keep", "Customization": {"Hide": ["Note"]}},
#     {"Display": "Replace it", "Value": "replace", "Customization": {"Mandatory": ["Note"]}}
#   ]}}}
# }
echo "$RB_PARAM_Mode"
`

// pageGet fetches a portal page as the signed-in person's browser.
func pageGet(t *testing.T, s *server, hc *http.Client, path string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pagePost posts a form as the browser would, without following the
// redirect; it returns the status, the Location and the body.
func pagePost(t *testing.T, s *server, hc *http.Client, path string, vals url.Values) (int, string, string) {
	t.Helper()
	nc := *hc
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.url)
	resp, err := nc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf is the CSRF token a page's forms carry.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no CSRF token")
	}
	return html.UnescapeString(m[1])
}

// element is the opening tag of the element with id, or "".
func element(page, id string) string {
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<")
	end := strings.Index(page[i:], ">")
	return page[start : i+end+1]
}

func TestPortalTargetsSearch(t *testing.T) {
	s := permServer(t)
	hc := portalClient(t, s, "help@contoso.com")
	st, page := pageGet(t, s, hc, "/targets?kind=user&q=jane")
	if st != 200 || !strings.Contains(page, `href="/targets/user/u-jane"`) || !strings.Contains(page, "Jane Doe") {
		t.Fatalf("search for jane: %d\n%s", st, page)
	}
	if strings.Contains(page, "u-ceo") {
		t.Error("the search for jane lists the CEO")
	}
	// htmx asks for the results alone.
	st, part := pageGet(t, s, hc, "/targets?kind=device&q=laptop", "HX-Request", "true", "HX-Target", "search-results")
	if st != 200 || strings.Contains(part, "<html") || !strings.Contains(part, `href="/targets/device/d-jane"`) {
		t.Fatalf("partial search: %d\n%s", st, part)
	}
	if st, page = pageGet(t, s, hc, "/targets?kind=group&q=nothing-like-this"); st != 200 || !strings.Contains(page, "Nothing found") {
		t.Errorf("empty search: %d\n%s", st, page)
	}
}

func TestPortalTargetsNoDirectory(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	if err := setLocalPassword(ctx, s.m.Store, runbooker.DefaultTenant, "someone@contoso.com", "correct horse someone@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.client.PutSetting(ctx, "roles", []byte(`{"assignments": [{"role": "Runbook Runner", "user": "someone@contoso.com"}]}`)); err != nil {
		t.Fatal(err)
	}
	hc := portalClient(t, s, "someone@contoso.com")
	st, page := pageGet(t, s, hc, "/targets")
	if st != 200 || !strings.Contains(page, `id="no-directory"`) {
		t.Fatalf("no directory: %d\n%s", st, page)
	}
}

func TestPortalTargetsRunbooksByTarget(t *testing.T) {
	s := permServer(t)
	s.put("user_general_portal-form", runbooker.LangBash, portalFormRunbook)
	hc := portalClient(t, s, "help@contoso.com")
	// The VIP rule: the helpdesk may run nothing on the CEO.
	st, page := pageGet(t, s, hc, "/targets/user/ceo@contoso.com")
	if st != 200 || !strings.Contains(page, "Chief Executive") || !strings.Contains(page, `id="no-runbooks"`) {
		t.Fatalf("CEO for the helpdesk: %d\n%s", st, page)
	}
	if strings.Contains(page, "user_security") {
		t.Error("the helpdesk is offered a user_security runbook on the CEO")
	}
	st, page = pageGet(t, s, hc, "/targets/user/u-jane")
	if st != 200 || !strings.Contains(page, "jane@contoso.com") {
		t.Fatalf("jane: %d\n%s", st, page)
	}
	sec, gen := strings.Index(page, `id="cat-security"`), strings.Index(page, `id="cat-general"`)
	mfa, form := strings.Index(page, `id="rb-user_security_reset-mfa"`), strings.Index(page, `id="rb-user_general_portal-form"`)
	if sec < 0 || gen < 0 || mfa < sec || form < gen || !(gen < sec) || !(form < sec) {
		t.Errorf("jane's runbooks are not grouped by category (general %d, security %d, reset-mfa %d, portal-form %d)\n%s", gen, sec, mfa, form, page)
	}
	if !strings.Contains(page, `href="/run/user_security_reset-mfa?kind=user&amp;id=u-jane"`) {
		t.Errorf("no Run link for reset-mfa on jane:\n%s", page)
	}
	if strings.Contains(page, "user_us_set-location") || strings.Contains(page, "retired") {
		t.Error("jane's page offers runbooks the helpdesk may not run")
	}
	// The VIP crew may act on the CEO.
	st, page = pageGet(t, s, portalClient(t, s, "vipcrew@contoso.com"), "/targets/user/u-ceo")
	if st != 200 || !strings.Contains(page, `id="rb-user_security_reset-mfa"`) {
		t.Errorf("CEO for the VIP crew: %d\n%s", st, page)
	}
	// A device shows its primary user.
	if st, page = pageGet(t, s, hc, "/targets/device/d-jane"); st != 200 || !strings.Contains(page, `href="/targets/user/u-jane"`) {
		t.Errorf("jane's laptop: %d\n%s", st, page)
	}
	if st, page = pageGet(t, s, hc, "/targets/user/nobody@contoso.com"); st != 404 || !strings.Contains(page, "There is no user") {
		t.Errorf("unknown user: %d\n%s", st, page)
	}
	if st, _ = pageGet(t, s, hc, "/targets/printer/p1"); st != 404 {
		t.Errorf("unknown kind: %d", st)
	}
	if st, page = pageGet(t, s, hc, "/org"); st != 200 || !strings.Contains(page, `id="no-runbooks"`) {
		t.Errorf("org for the helpdesk: %d\n%s", st, page)
	}
}

func TestPortalTargetsRunForm(t *testing.T) {
	s := permServer(t)
	s.put("user_general_portal-form", runbooker.LangBash, portalFormRunbook)
	hc := portalClient(t, s, "help@contoso.com")
	const path = "/run/user_general_portal-form?kind=user&id=u-jane"
	st, page := pageGet(t, s, hc, path)
	if st != 200 {
		t.Fatalf("run form: %d\n%s", st, page)
	}
	// The default option "keep" hides Note on the server already.
	if w := element(page, "w-Note"); !strings.Contains(w, " hidden") {
		t.Errorf("Note is not hidden: %s", w)
	}
	if f := element(page, "f-Note"); !strings.Contains(f, " disabled") {
		t.Errorf("the hidden Note is not disabled: %s", f)
	}
	if f := element(page, "f-UserName"); !strings.Contains(f, `type="hidden"`) || !strings.Contains(f, `value="jane@contoso.com"`) {
		t.Errorf("the context field: %s", f)
	}
	if f := element(page, "f-Mode"); !strings.Contains(f, "data-effects=") {
		t.Errorf("the select carries no effects for app.js: %s", f)
	}
	if f := element(page, "f-Length"); !strings.Contains(f, `min="8"`) || !strings.Contains(f, `max="64"`) || !strings.Contains(f, `value="12"`) {
		t.Errorf("the number field: %s", f)
	}
	csrf := csrfOf(t, page)
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	// "replace" makes Note mandatory: posted empty without JavaScript, the
	// form comes back with Note shown and the problem next to it.
	st, _, page = pagePost(t, s, hc, path, form("p.Mode", "replace", "p.Length", "12", "p.Note", ""))
	if st != 400 || strings.Contains(element(page, "w-Note"), " hidden") || !strings.Contains(page, `id="e-Note"`) {
		t.Errorf("replace without a note: %d\n%s", st, page)
	}
	// A value the API refuses: its message next to the field and at the top.
	st, _, page = pagePost(t, s, hc, path, form("p.Mode", "keep", "p.Length", "3"))
	if st != 400 || !strings.Contains(page, `id="run-error"`) {
		t.Fatalf("Length 3: %d\n%s", st, page)
	}
	if i := strings.Index(page, `id="e-Length"`); i < 0 || !strings.Contains(page[i:i+200], "outside the range") {
		t.Errorf("no inline error at Length:\n%s", page)
	}
	if f := element(page, "f-Length"); !strings.Contains(f, `value="3"`) || !strings.Contains(f, `aria-invalid="true"`) {
		t.Errorf("the posted value is not kept: %s", f)
	}

	// A good post starts the job: Note, hidden by "keep", is not passed on,
	// the target fills UserName, values have their types.
	st, loc, page := pagePost(t, s, hc, path, form("p.Mode", "keep", "p.Length", "20", "p.Note", "ignored", "p.Tags", "a\nb"))
	if st != 303 || !strings.HasPrefix(loc, "/jobs/") {
		t.Fatalf("good post: %d %q\n%s", st, loc, page)
	}
	j, err := s.m.Store.Job(context.Background(), runbooker.DefaultTenant, strings.TrimPrefix(loc, "/jobs/"))
	if err != nil {
		t.Fatal(err)
	}
	p := j.Parameters
	if p["UserName"] != "jane@contoso.com" || p["Mode"] != "keep" || fmt.Sprint(p["Length"]) != "20" || fmt.Sprint(p["Tags"]) != "[a b]" {
		t.Errorf("job parameters %#v", p)
	}
	if _, ok := p["Note"]; ok {
		t.Errorf("the hidden Note was passed on: %#v", p)
	}
	if j.Target == nil || j.Target.ID != "u-jane" {
		t.Errorf("job target %+v", j.Target)
	}

	// Without the CSRF token nothing starts.
	bad := form("p.Mode", "keep", "p.Length", "20")
	bad.Del("csrf")
	if st, _, _ = pagePost(t, s, hc, path, bad); st != 403 {
		t.Errorf("post without CSRF token: %d", st)
	}
	// The VIP rule holds for a run link made by hand.
	st, _, page = pagePost(t, s, hc, "/run/user_security_reset-mfa?kind=user&id=u-ceo", form())
	if st != 403 || !strings.Contains(page, "VIP users") {
		t.Errorf("reset-mfa on the CEO: %d\n%s", st, page)
	}
	// An entity picker's suggestions.
	st, page = pageGet(t, s, hc, "/pick/user?returns=name&p.UserName=jan", "HX-Request", "true", "HX-Target", "dl-UserName")
	if st != 200 || !strings.Contains(page, `<option value="jane@contoso.com">`) {
		t.Errorf("picker: %d\n%s", st, page)
	}
}

func TestPortalTargetsRunOn(t *testing.T) {
	s := permServer(t)
	roles := strings.Replace(permRoles, `{"role": "Reader", "user": "reader@contoso.com"}`, `{"role": "Administrator", "user": "reader@contoso.com"}`, 1)
	if err := s.client.PutSetting(context.Background(), "roles", []byte(roles)); err != nil {
		t.Fatal(err)
	}
	admin := portalClient(t, s, "reader@contoso.com")
	st, page := pageGet(t, s, admin, "/org")
	if st != 200 || !strings.Contains(page, `id="cat-general"`) || !strings.Contains(page, `href="/run/org_general_report"`) {
		t.Fatalf("org page for an administrator: %d\n%s", st, page)
	}
	st, page = pageGet(t, s, admin, "/run/org_general_report")
	if st != 200 || !strings.Contains(page, `id="run-on"`) || !strings.Contains(page, `<option value="parked">`) {
		t.Fatalf("run form for an administrator has no Run on choice: %d\n%s", st, page)
	}
	st, loc, page := pagePost(t, s, admin, "/run/org_general_report", url.Values{"csrf": {csrfOf(t, page)}, "runOn": {"parked"}})
	if st != 303 {
		t.Fatalf("start on parked: %d\n%s", st, page)
	}
	j, err := s.m.Store.Job(context.Background(), runbooker.DefaultTenant, strings.TrimPrefix(loc, "/jobs/"))
	if err != nil || j.RunOn != "parked" {
		t.Errorf("job %+v, %v: want it on parked", j, err)
	}
	// Support staff get no such choice.
	if _, page = pageGet(t, s, portalClient(t, s, "help@contoso.com"), "/run/user_security_reset-mfa?kind=user&id=u-jane"); strings.Contains(page, `id="run-on"`) {
		t.Error("the helpdesk may choose a worker group")
	}
}
