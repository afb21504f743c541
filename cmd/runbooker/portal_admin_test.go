package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/gitsync/gittest"
	rbhttp "github.com/runbooker/runbooker/http"
)

// adminPermServer is permServer with one administrator who signs in with a
// password: jane@contoso.com, a directory user holding the Administrator role.
func adminPermServer(t *testing.T) *server {
	t.Helper()
	s := permServer(t)
	roles := strings.Replace(permRoles, `"assignments": [`, `"assignments": [
    {"role": "Administrator", "user": "jane@contoso.com"},`, 1)
	ctx := context.Background()
	if err := s.client.PutSetting(ctx, rbhttp.SettingRoles, []byte(roles)); err != nil {
		t.Fatal(err)
	}
	if err := setLocalPassword(ctx, s.m.Store, runbooker.DefaultTenant, "jane@contoso.com", "correct horse jane@contoso.com"); err != nil {
		t.Fatal(err)
	}
	return s
}

// adminPost posts a form with the CSRF token of the page at from (none when
// from is empty), not following the redirect: status, body, Location.
func adminPost(t *testing.T, s *server, hc *http.Client, from, path string, form url.Values) (int, string, string) {
	t.Helper()
	if from != "" {
		_, page := pageGet(t, s, hc, from)
		form.Set("csrf", csrfOf(t, page))
	}
	st, loc, body := pagePost(t, s, hc, path, form)
	return st, body, loc
}

var adminPages = []string{"/admin", "/admin/workers", "/admin/assets", "/admin/settings/customization", "/admin/settings/permissions",
	"/admin/settings/roles", "/admin/settings/directory", "/admin/roles", "/admin/sync", "/admin/users", "/admin/credentials", "/admin/audit"}

func TestPortalAdminNeedsAdmin(t *testing.T) {
	s := adminPermServer(t)
	help := portalClient(t, s, "help@contoso.com")
	for _, p := range adminPages {
		st, body := pageGet(t, s, help, p)
		if st != http.StatusForbidden || !strings.Contains(body, "help@contoso.com lacks the right Admin") {
			t.Errorf("%s as the helpdesk: %d, want 403 with the API's reason:\n%s", p, st, body)
		}
	}
	jane := portalClient(t, s, "jane@contoso.com")
	for _, p := range adminPages {
		if st, body := pageGet(t, s, jane, p); st != http.StatusOK {
			t.Errorf("%s as the administrator: %d\n%s", p, st, body)
		}
	}
	if _, body := pageGet(t, s, jane, "/admin"); !strings.Contains(body, `href="/admin/audit"`) {
		t.Error("the overview does not link the audit log")
	}
}

func TestPortalAdminSettingsErrorMarked(t *testing.T) {
	s := adminPermServer(t)
	jane := portalClient(t, s, "jane@contoso.com")
	for _, tc := range []struct{ key, doc, line, col string }{
		{"customization", "{\n  \"Runbooks\": {\n    \"x\": [1,,]\n  }\n}", "3", "13"},
		{"permissions", "{\n  \"Roles\": {\n    \"X\": {\"Groups\": 5}\n  }\n}", "3", "21"},
	} {
		st, body, _ := adminPost(t, s, jane, "/admin/settings/"+tc.key, "/admin/settings/"+tc.key, url.Values{"document": {tc.doc}})
		if st != http.StatusBadRequest {
			t.Fatalf("%s: saving a broken document: %d\n%s", tc.key, st, body)
		}
		for _, want := range []string{`id="settings-error"`, "line " + tc.line + ", column " + tc.col, `class="error-at"`, `id="settings-editor"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page lacks %q:\n%s", tc.key, want, body)
			}
		}
		// The marker stands under the column.
		m := regexp.MustCompile(`<span class="error-at">( *)\^`).FindStringSubmatch(body)
		if m == nil || len(m[1])+1 != atoi(t, tc.col) {
			t.Errorf("%s: marker %q not under column %s", tc.key, m, tc.col)
		}
		// Without the page's CSRF token nothing is saved.
		if st, _, _ := adminPost(t, s, jane, "", "/admin/settings/"+tc.key, url.Values{"document": {"{}"}}); st != http.StatusForbidden {
			t.Errorf("%s: a post without the CSRF token: %d, want 403", tc.key, st)
		}
	}
	// A good document is saved, and a preview shows a runbook's form.
	doc := `{"Runbooks": {"user_security_reset-mfa": {"Parameters": {"UserName": {"DisplayName": "Whose MFA"}}}}}`
	if st, body, loc := adminPost(t, s, jane, "/admin/settings/customization", "/admin/settings/customization/preview",
		url.Values{"document": {doc}, "runbook": {"user_security_reset-mfa"}}); st != http.StatusOK || !strings.Contains(body, `id="form-preview"`) || !strings.Contains(body, "Whose MFA") {
		t.Errorf("preview: %d %s\n%s", st, loc, body)
	}
	if st, _, loc := adminPost(t, s, jane, "/admin/settings/customization", "/admin/settings/customization", url.Values{"document": {doc}}); st != http.StatusSeeOther {
		t.Errorf("saving a good document: %d %s", st, loc)
	}
	if _, body := pageGet(t, s, jane, "/admin/settings/customization"); !strings.Contains(body, "Whose MFA") {
		t.Error("the saved document is not in the editor")
	}
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestPortalAdminRotateTokenShowsInstall(t *testing.T) {
	s := adminPermServer(t)
	jane := portalClient(t, s, "jane@contoso.com")
	_, before := pageGet(t, s, jane, "/admin/workers")
	if strings.Contains(before, "rbg_") {
		t.Fatal("the workers page shows a token before any rotation")
	}
	st, body, _ := adminPost(t, s, jane, "/admin/workers", "/admin/workers/parked/rotate", url.Values{})
	if st != http.StatusOK {
		t.Fatalf("rotate: %d\n%s", st, body)
	}
	m := regexp.MustCompile(`id="new-token">(rbg_[^<]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no new token on the page:\n%s", body)
	}
	token := m[1]
	for _, want := range []string{"runbooker worker install --server &#39;" + s.url + "&#39; --group &#39;parked&#39; --token-file /etc/runbooker/token",
		`runbooker.exe&#39; worker install --server &#39;` + s.url + `&#39; --group &#39;parked&#39;`, `id="install-linux"`, `id="install-windows"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the install commands lack %q", want)
		}
	}
	if strings.Count(body, token) < 3 {
		t.Errorf("the token is not in both install commands")
	}
	if _, after := pageGet(t, s, jane, "/admin/workers"); strings.Contains(after, token) {
		t.Error("the token is shown again after the rotation")
	}
}

func TestPortalAdminSecretAssetNeverShown(t *testing.T) {
	s := adminPermServer(t)
	jane := portalClient(t, s, "jane@contoso.com")
	const secret = "s3cr3t-Value-9f1c"
	st, body, loc := adminPost(t, s, jane, "/admin/assets", "/admin/assets",
		url.Values{"type": {"variable"}, "name": {"ApiKey"}, "description": {"the key"}, "encrypted": {"on"}, "value": {secret}})
	if st != http.StatusSeeOther {
		t.Fatalf("create: %d %s\n%s", st, loc, body)
	}
	st, body, loc = adminPost(t, s, jane, "/admin/assets", "/admin/assets",
		url.Values{"type": {"credential"}, "name": {"Svc"}, "value": {`{"userName": "svc", "password": "` + secret + `"}`}})
	if st != http.StatusSeeOther {
		t.Fatalf("create credential: %d %s\n%s", st, loc, body)
	}
	// Editing with an empty value keeps the secret.
	if st, _, loc := adminPost(t, s, jane, "/admin/assets?edit=variable/ApiKey", "/admin/assets",
		url.Values{"editing": {"1"}, "type": {"variable"}, "name": {"ApiKey"}, "description": {"the key"}, "encrypted": {"on"}, "value": {""}}); st != http.StatusSeeOther || !strings.Contains(loc, "kept") {
		t.Errorf("edit without a value: %d %s", st, loc)
	}
	v, secretKept, err := s.m.Engine.AssetValue(context.Background(), runbooker.DefaultTenant, runbooker.AssetVariable, "ApiKey")
	if err != nil || !secretKept || !strings.Contains(string(v), secret) {
		t.Errorf("the stored secret changed: %s %v %v", v, secretKept, err)
	}
	for _, p := range append(adminPages, "/admin/assets?edit=variable/ApiKey", "/admin/assets?edit=credential/Svc") {
		if _, body := pageGet(t, s, jane, p); strings.Contains(body, secret) {
			t.Errorf("%s shows the secret value", p)
		}
	}
	if _, body := pageGet(t, s, jane, "/admin/assets"); !strings.Contains(body, "ApiKey") || !strings.Contains(body, "secret (hidden)") {
		t.Error("the assets page does not list the secret asset as hidden")
	}
}

func TestPortalAdminAuditListsSignin(t *testing.T) {
	s := adminPermServer(t)
	_ = portalClient(t, s, "help@contoso.com")
	jane := portalClient(t, s, "jane@contoso.com")
	st, body := pageGet(t, s, jane, "/admin/audit?action=signin.success&actor=help%40contoso.com")
	if st != http.StatusOK || !strings.Contains(body, "signin.success") || !strings.Contains(body, "help@contoso.com") {
		t.Fatalf("audit page: %d\n%s", st, body)
	}
	if _, body := pageGet(t, s, jane, "/admin/audit?since=2000-01-01T00:00"); !strings.Contains(body, `id="audit"`) {
		t.Error("a since filter in the browser's format shows no entries")
	}
	if st, body := pageGet(t, s, jane, "/admin/audit?since=yesterday"); st != http.StatusOK || !strings.Contains(body, `id="admin-problem"`) {
		t.Errorf("a bad time: %d, want the API's message", st)
	}

	// Pages of 100, filtered: the next page continues after the last entry.
	for range 105 {
		if err := s.client.PutSetting(context.Background(), rbhttp.SettingCustomization, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	_, body = pageGet(t, s, jane, "/admin/audit?action=setting.put")
	next := regexp.MustCompile(`href="(/admin/audit\?[^"]+)" id="audit-next"`).FindStringSubmatch(body)
	if next == nil || strings.Count(body, "<td>setting.put</td>") != 100 {
		t.Fatalf("first page: %d entries, next %v", strings.Count(body, "<td>setting.put</td>"), next)
	}
	_, body = pageGet(t, s, jane, strings.ReplaceAll(next[1], "&amp;", "&"))
	if n := strings.Count(body, "<td>setting.put</td>"); n < 5 || n >= 100 || strings.Contains(body, "signin.success") {
		t.Errorf("second page: %d setting.put entries\n%s", n, body)
	}
}

// openEvents opens the live event stream of a session; events arrive on the channel.
func openEvents(t *testing.T, s *server, hc *http.Client, lastID string) <-chan sseEvent {
	return openEventsAs(t, s, hc, "", lastID)
}

// openEventsAs is openEvents with an API credential (id:secret) instead of a session.
func openEventsAs(t *testing.T, s *server, hc *http.Client, cred, lastID string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/events", nil)
	if cred != "" {
		id, secret, _ := strings.Cut(cred, ":")
		req.SetBasicAuth(id, secret)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		_ = scanSSE(resp.Body, func(ev sseEvent) { ch <- ev })
	}()
	return ch
}

// nextEvent waits for the next event that matches.
func nextEvent(t *testing.T, ch <-chan sseEvent, what string, match func(sseEvent) bool) sseEvent {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("the stream ended waiting for %s", what)
			}
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s within 30s", what)
		}
	}
}

func TestPortalAdminEventStream(t *testing.T) {
	s := adminPermServer(t)
	ctx := context.Background()
	help := portalClient(t, s, "help@contoso.com")
	events := openEvents(t, s, help, "")
	var seen []sseEvent
	record := func(ev sseEvent) sseEvent { seen = append(seen, ev); return ev }

	// A job on the CEO (a VIP the helpdesk may not act on) first, to its end.
	vip, err := s.client.Start(ctx, "user_security_reset-mfa", map[string]any{"UserName": "ceo@contoso.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitJobEnd(t, s, vip.JobID)
	// Then one on Jane, which the helpdesk may see.
	mine, err := s.client.Start(ctx, "user_security_reset-mfa", map[string]any{"UserName": "jane@contoso.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	isJob := func(kind string, final bool) func(sseEvent) bool {
		return func(ev sseEvent) bool {
			record(ev)
			if ev.Data["id"] != mine.JobID || ev.Kind != kind {
				return false
			}
			st, _ := ev.Data["status"].(string)
			return !final || runbooker.JobStatus(st).Terminal()
		}
	}
	created := nextEvent(t, events, "job.created of the visible job", isJob("job.created", false))
	final := nextEvent(t, events, "the final job.status of the visible job", isJob("job.status", true))
	if final.Data["status"] != string(runbooker.StatusCompleted) || final.Data["runbook"] != "user_security_reset-mfa" {
		t.Errorf("final event: %+v", final.Data)
	}
	for _, ev := range seen {
		if ev.Data["id"] == vip.JobID || ev.Kind == "worker.online" || ev.Kind == "sync.finished" {
			t.Errorf("the helpdesk saw %s %v", ev.Kind, ev.Data)
		}
	}

	// Resuming after job.created replays what followed it, and not it.
	again := openEvents(t, s, help, created.ID)
	first := nextEvent(t, again, "a replayed event", func(sseEvent) bool { return true })
	if first.ID == created.ID || first.Data["id"] != mine.JobID || first.Kind != "job.status" {
		t.Errorf("first event after resuming at %s: %+v", created.ID, first)
	}
	nextEvent(t, again, "the replayed final status", func(ev sseEvent) bool { return ev.ID == final.ID })

	// An id of another server run gets a reload.
	stale := openEvents(t, s, help, "0000-7")
	if ev := nextEvent(t, stale, "reload", func(sseEvent) bool { return true }); ev.Kind != "reload" {
		t.Errorf("resume with a foreign id: %+v", ev)
	}

	// The administrator sees the VIP job too.
	jane := portalClient(t, s, "jane@contoso.com")
	adm := openEvents(t, s, jane, created.ID)
	_ = adm
	vip2, err := s.client.Start(ctx, "user_security_reset-mfa", map[string]any{"UserName": "ceo@contoso.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, adm, "the VIP job's creation, for the administrator", func(ev sseEvent) bool { return ev.Data["id"] == vip2.JobID && ev.Kind == "job.created" })
}

// waitJobEnd waits until a job is terminal.
func waitJobEnd(t *testing.T, s *server, id string) {
	t.Helper()
	eventually(t, 30*time.Second, "job "+id+" to end", func() bool {
		j, err := s.client.Job(context.Background(), id)
		return err == nil && j.Status.Terminal()
	})
}

// TestPortalAdminEventStreamWorkersAndSync: administrators see workers come
// and go and syncs finish; an operator does not.
func TestPortalAdminEventStreamWorkersAndSync(t *testing.T) {
	s := syncTestServer(t)
	ctx := context.Background()
	oc, osecret, err := createCredential(ctx, s.m.Store, runbooker.DefaultTenant, "op", runbooker.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	s.put("org_general_hello", runbooker.LangBash, "#!/bin/bash\necho hello\n")
	admin := openEventsAs(t, s, http.DefaultClient, s.cred, "")
	operator := openEventsAs(t, s, http.DefaultClient, oc.ID+":"+osecret, "")

	g, err := s.client.CreateGroup(ctx, rbhttp.GroupView{Name: "hyb"})
	if err != nil {
		t.Fatal(err)
	}
	st, _, body := s.call("POST", "/api/worker/v1/register", "", `{"token": "`+g.Token+`", "name": "w1", "hostname": "w1.example"}`)
	var reg rbhttp.RegisterResponse
	if st != 200 && st != 201 || json.Unmarshal([]byte(body), &reg) != nil {
		t.Fatalf("register: %d %s", st, body)
	}
	on := nextEvent(t, admin, "worker.online", func(ev sseEvent) bool { return ev.Kind == "worker.online" })
	if on.Data["name"] != "w1" || on.Data["group"] != "hyb" || on.Data["status"] != "online" {
		t.Errorf("worker.online: %+v", on.Data)
	}
	if st, _, body := s.call("POST", "/api/worker/v1/state", reg.WorkerID+":"+reg.Secret, `{"state": "stopped"}`); st != 204 {
		t.Fatalf("state: %d %s", st, body)
	}
	if off := nextEvent(t, admin, "worker.offline", func(ev sseEvent) bool { return ev.Kind == "worker.offline" }); off.Data["id"] != reg.WorkerID {
		t.Errorf("worker.offline: %+v", off.Data)
	}

	up := gittest.New(t)
	up.Write("main", "org/general/greet.sh", syncedScript)
	up.Commit("main", "greet")
	if st, _, body := s.call("POST", "/api/v1/sync/sources", s.cred, `{"id": "rj", "url": "`+up.URL()+`", "branch": "main"}`); st != 201 {
		t.Fatalf("create source: %d %s", st, body)
	}
	if st, _, body := s.call("POST", "/api/v1/sync", s.cred, `{"source": "rj"}`); st != 200 {
		t.Fatalf("sync: %d %s", st, body)
	}
	done := nextEvent(t, admin, "sync.finished", func(ev sseEvent) bool { return ev.Kind == "sync.finished" })
	if done.Data["source"] != "rj" || done.Data["added"] != float64(1) {
		t.Errorf("sync.finished: %+v", done.Data)
	}

	// A worker that falls silent is told offline by the workers watch.
	st, _, body = s.call("POST", "/api/worker/v1/register", "", `{"token": "`+g.Token+`", "name": "w2"}`)
	var reg2 rbhttp.RegisterResponse
	if st != 200 && st != 201 || json.Unmarshal([]byte(body), &reg2) != nil {
		t.Fatalf("register w2: %d %s", st, body)
	}
	nextEvent(t, admin, "w2 online", func(ev sseEvent) bool { return ev.Kind == "worker.online" && ev.Data["id"] == reg2.WorkerID })
	s.clock.Advance(runbooker.WorkerOnlineWindow + time.Minute)
	if ev := nextEvent(t, admin, "w2 offline by silence", func(ev sseEvent) bool { return ev.Data["id"] == reg2.WorkerID }); ev.Kind != "worker.offline" || ev.Data["status"] != "offline" {
		t.Errorf("w2 after its silence: %s %+v", ev.Kind, ev.Data)
	}

	// The operator sees jobs, and nothing of the above before them.
	run, err := s.client.Start(ctx, "org_general_hello", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, operator, "the operator's job.created", func(ev sseEvent) bool {
		if ev.Kind != "job.created" && ev.Kind != "job.status" {
			t.Errorf("the operator saw %s %v", ev.Kind, ev.Data)
		}
		return ev.Kind == "job.created" && ev.Data["id"] == run.JobID
	})
}

func TestPortalAdminUsersAndCredentials(t *testing.T) {
	s := adminPermServer(t)
	jane := portalClient(t, s, "jane@contoso.com")

	// A local account: created, disabled (it can no longer sign in), deleted.
	if st, body, _ := adminPost(t, s, jane, "/admin/users", "/admin/users",
		url.Values{"upn": {"temp@contoso.com"}, "displayName": {"Temp"}, "password": {"short"}}); st != http.StatusBadRequest || !strings.Contains(body, "at least 8 characters") {
		t.Errorf("a short password: %d\n%s", st, body)
	}
	if st, _, loc := adminPost(t, s, jane, "/admin/users", "/admin/users",
		url.Values{"upn": {"temp@contoso.com"}, "displayName": {"Temp"}, "password": {"correct horse temp@contoso.com"}}); st != http.StatusSeeOther {
		t.Fatalf("create: %d %s", st, loc)
	}
	_ = portalClient(t, s, "temp@contoso.com") // signs in
	if _, body := pageGet(t, s, jane, "/admin/users"); !strings.Contains(body, `id="disable-temp@contoso.com"`) {
		t.Fatalf("no disable button for the new account:\n%s", body)
	}
	if st, _, _ := adminPost(t, s, jane, "/admin/users", "/admin/users/temp@contoso.com/disable", url.Values{}); st != http.StatusSeeOther {
		t.Fatalf("disable: %d", st)
	}
	resp, err := http.Post(s.url+"/api/v1/auth/signin", "application/json",
		strings.NewReader(`{"userName":"temp@contoso.com","password":"correct horse temp@contoso.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("a disabled account signed in")
	}
	if _, body := pageGet(t, s, jane, "/admin/users"); !strings.Contains(body, `id="enable-temp@contoso.com"`) {
		t.Error("the disabled account shows no enable button")
	}
	if st, _, _ := adminPost(t, s, jane, "/admin/users", "/admin/users/temp@contoso.com/delete", url.Values{}); st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
	if _, body := pageGet(t, s, jane, "/admin/users"); strings.Contains(body, "temp@contoso.com") {
		t.Error("the deleted account is still listed")
	}

	// An API credential: its secret is shown once and works.
	st, body, _ := adminPost(t, s, jane, "/admin/credentials", "/admin/credentials", url.Values{"name": {"ci-bot"}, "role": {"operator"}})
	m := regexp.MustCompile(`id="new-secret">([^<]+)<`).FindStringSubmatch(body)
	id := regexp.MustCompile(`Credential id: <code>([0-9a-f]+)</code>`).FindStringSubmatch(body)
	if st != http.StatusOK || m == nil || id == nil {
		t.Fatalf("create credential: %d\n%s", st, body)
	}
	if st, _, _ := s.call("GET", "/api/v1/runbooks", id[1]+":"+m[1], ""); st != http.StatusOK {
		t.Errorf("the new credential does not work: %d", st)
	}
	_, list := pageGet(t, s, jane, "/admin/credentials")
	if strings.Contains(list, m[1]) || !strings.Contains(list, "ci-bot") {
		t.Error("the credentials list shows the secret, or not the credential")
	}
	if st, _, _ := adminPost(t, s, jane, "/admin/credentials", "/admin/credentials/"+id[1]+"/delete", url.Values{}); st != http.StatusSeeOther {
		t.Fatalf("delete credential: %d", st)
	}
	if st, _, _ := s.call("GET", "/api/v1/runbooks", id[1]+":"+m[1], ""); st != http.StatusUnauthorized {
		t.Errorf("a deleted credential: %d", st)
	}

	// The roles page lists the roles with their rights.
	if _, body := pageGet(t, s, jane, "/admin/roles"); !strings.Contains(body, "Runbook Runner") || !strings.Contains(body, "CanRunRunbooks") || !strings.Contains(body, "jane@contoso.com") {
		t.Errorf("roles page:\n%s", body)
	}
}

func TestPortalAdminSyncPage(t *testing.T) {
	s := syncTestServer(t)
	up := gittest.New(t)
	up.Write("main", "org/general/greet.sh", syncedScript)
	up.Commit("main", "greet")
	if st, _, body := s.call("POST", "/api/v1/sync/sources", s.cred, `{"id": "rj", "url": "`+up.URL()+`", "branch": "main"}`); st != 201 {
		t.Fatalf("create source: %d %s", st, body)
	}
	ctx := context.Background()
	if err := setLocalPassword(ctx, s.m.Store, runbooker.DefaultTenant, "root@contoso.com", "correct horse root@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.client.PutSetting(ctx, rbhttp.SettingRoles, []byte(`{"assignments": [{"role": "Administrator", "user": "root@contoso.com"}]}`)); err != nil {
		t.Fatal(err)
	}
	root := portalClient(t, s, "root@contoso.com")
	if _, body := pageGet(t, s, root, "/admin/sync"); !strings.Contains(body, `id="sync-run"`) || !strings.Contains(body, "not synced since this server started") {
		t.Fatalf("sync page before a sync:\n%s", body)
	}
	st, body, _ := adminPost(t, s, root, "/admin/sync", "/admin/sync", url.Values{})
	if st != http.StatusOK || !strings.Contains(body, `id="sync-report"`) || !strings.Contains(body, "Added: rjgit-org_general_greet") {
		t.Fatalf("sync: %d\n%s", st, body)
	}
	if _, body := pageGet(t, s, root, "/admin/sync"); !strings.Contains(body, "added 1, updated 0, removed 0, errors 0") {
		t.Errorf("the last sync is not listed:\n%s", body)
	}
}

// TestPortalAdminSchedules: the schedules page lists schedules and the
// runbooks linked to them with their next runs, and creates the defaults.
func TestPortalAdminSchedules(t *testing.T) {
	s := adminPermServer(t)
	jane := portalClient(t, s, "jane@contoso.com")
	st, body, loc := adminPost(t, s, jane, "/admin/schedules", "/admin/schedules/defaults", url.Values{})
	if st != http.StatusSeeOther {
		t.Fatalf("create defaults: %d %s", st, body)
	}
	s.put("org_general_report_scheduled", runbooker.LangBash, "#!/bin/bash\necho report\n")
	if st, _, body := s.call("POST", "/api/v1/jobschedules", s.cred, `{"scheduleName": "Daily", "runbookName": "org_general_report_scheduled"}`); st/100 != 2 {
		t.Fatalf("link: %d %s", st, body)
	}
	st, page := pageGet(t, s, jane, loc)
	if st != 200 {
		t.Fatalf("schedules page: %d", st)
	}
	for _, want := range []string{`id="schedules"`, "Hourly", "Monthly", `id="job-schedules"`, "org_general_report_scheduled", "The default schedules exist."} {
		if !strings.Contains(page, want) {
			t.Errorf("the schedules page lacks %q", want)
		}
	}
	// A supporter sees the next runs but may not create schedules.
	help := portalClient(t, s, "help@contoso.com")
	if st, page := pageGet(t, s, help, "/admin/schedules"); st != 200 || !strings.Contains(page, "org_general_report_scheduled") || strings.Contains(page, `id="create-defaults"`) {
		t.Errorf("a supporter on the schedules page: %d", st)
	}
}
