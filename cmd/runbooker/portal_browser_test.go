package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// screenshotDir is where the browser tests leave a PNG of every page they
// visit (README: "The portal").
var screenshotDir = filepath.Join("..", "..", "portal", "testdata", "screenshots")

// browser is a headless Chromium of one test, driven through chromedp.
type browser struct {
	t   *testing.T
	ctx context.Context
	url string // the server's base URL
}

// chromium finds Debian's Chromium, skipping the test where it is missing
// (failing it under CI=true, where .ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium is not installed (Debian: apt-get install chromium); the portal's browser tests do not run"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless Chromium for the test, with a window the
// size of a laptop screen (phone: a narrow one).
func newBrowser(t *testing.T, s *server, width, height int) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // tests run as root
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A bound on the whole test, generous: under CI every package's tests
	// share two cores with this browser, and one run of this test went past
	// 90 s there while it takes 19 s alone.
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	// The first Run starts the browser, with the context that lives as long
	// as the test (the timeout above is for the whole test).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, url: s.url}
}

// run runs chromedp actions, failing the test with what was being done.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// a11yCheck is run on every page a browser test looks at: every visible
// form control has a label, and every piece of text has at least the WCAG
// AA contrast with what is behind it (4.5:1; 3:1 for large text). It
// answers one line per problem.
const a11yCheck = `(() => {
  const out = [];
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el)) continue;
    const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') ||
      (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) || el.closest('label');
    if (!named) out.push('no label: ' + el.outerHTML.slice(0, 100));
  }
  const rgb = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const v = m[1].split(',').map(parseFloat); return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1}; };
  const lum = c => { const f = x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const seen = new Set();
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el) || ['SCRIPT', 'STYLE'].includes(el.tagName)) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const st = getComputedStyle(el), fg = rgb(st.color), b = bg(el);
    if (!fg) continue;
    const l1 = lum(fg), l2 = lum(b), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    const key = st.color + '/' + JSON.stringify(b);
    if (ratio < need && !seen.has(key)) { seen.add(key); out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': "' + el.textContent.trim().slice(0, 40) + '" (' + st.color + ')'); }
  }
  return out.join('\n');
})()`

// shot saves a PNG of the whole page as <test>-<name>.png, after checking
// the page's labels and contrast.
func (b *browser) shot(name string) {
	b.t.Helper()
	if !strings.HasPrefix(name, "failed") {
		if problems, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](a11yCheck)); err != nil {
			b.t.Errorf("checking %s: %v", name, err)
		} else if problems != "" {
			b.t.Errorf("accessibility of %s:\n%s", name, problems)
		}
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	file := strings.NewReplacer("/", "-", " ", "-").Replace(b.t.Name() + "-" + name + ".png")
	if err := os.WriteFile(filepath.Join(screenshotDir, file), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// text returns the text of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.shot("failed-reading")
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// signIn signs upn in through the sign-in page.
func (b *browser) signIn(upn string) {
	b.t.Helper()
	b.run("opening the sign-in page", chromedp.Navigate(b.url+"/login?next=/jobs"), chromedp.WaitVisible(chromedp.ID("username")))
	b.shot("login")
	b.run("signing in as "+upn,
		chromedp.SendKeys(chromedp.ID("username"), upn),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse "+upn),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitNotPresent(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"] button`)),
	)
}

// TestPortalBrowserSignIn (flow 1): a restricted supporter signs in through
// the sign-in form; a wrong password is refused on the page.
func TestPortalBrowserSignIn(t *testing.T) {
	s := permServer(t)
	b := newBrowser(t, s, 1280, 900)
	b.run("opening the sign-in page", chromedp.Navigate(b.url+"/login"), chromedp.WaitVisible(chromedp.ID("username")))
	b.run("a wrong password",
		chromedp.SendKeys(chromedp.ID("username"), "help@contoso.com"),
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("login-error")),
	)
	if got := b.text("#login-error"); !strings.Contains(got, "invalid user name or password") {
		t.Errorf("the sign-in error says %q", got)
	}
	b.shot("wrong-password")
	b.signIn("help@contoso.com")
	b.shot("signed-in")
	if got := b.text(`nav[aria-label="Main"] button`); !strings.Contains(got, "help@contoso.com") {
		t.Errorf("the page does not say who is signed in: %q", got)
	}
	// On a phone the pages fit the screen's width.
	phone := newBrowser(t, s, 390, 844)
	phone.signIn("help@contoso.com")
	for _, path := range []string{"/targets?q=jane", "/jobs", "/targets/user/jane@contoso.com"} {
		phone.run("opening "+path+" on a phone", chromedp.Navigate(phone.url+path), chromedp.WaitVisible(chromedp.ID("main")))
		wide, err := chromedp.Run(phone.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if wide {
			t.Errorf("%s is wider than a phone's screen", path)
		}
		phone.shot("phone" + strings.NewReplacer("/", "-", "?", "-", "=", "-", "@", "-").Replace(path))
	}
}

// startJob starts a runbook on jane@contoso.com through the API as the
// test's administrator and returns the job id.
func startJob(t *testing.T, s *server, runbook, script string) string {
	t.Helper()
	s.put(runbook, runbooker.LangBash, script)
	st, _, body := s.call("POST", "/api/external/runbook/"+runbook+"/start", s.cred, `{"UserName":"jane@contoso.com"}`)
	if st != 200 {
		t.Fatalf("start %s: %d %s", runbook, st, body)
	}
	var r rbhttp.RunResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return r.JobID
}

// waitText waits until the text of sel contains want.
func (b *browser) waitText(sel, want string, within time.Duration) string {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
		if err == nil && strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			b.shot("failed-waiting")
			b.t.Fatalf("%s never showed %q (last: %q, %v)", sel, want, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPortalBrowserJobs: flows 4, 5 and 6 of the portal. A supporter
// watches a job's console fill live while it runs, stops a long job with
// the Stop button, and finds a job in the list by its id.
func TestPortalBrowserJobs(t *testing.T) {
	s := permServer(t)
	b := newBrowser(t, s, 1280, 900)
	b.signIn("help@contoso.com")
	slow := startJob(t, s, "user_security_slow-report", "#!/bin/bash\n# @param UserName string mandatory\n"+
		"for i in 1 2 3 4 5 6; do echo \"checked mailbox $i of 6 for $RB_PARAM_UserName\"; sleep 1; done\necho 'something odd' >&2\n")

	// Flow 4: the console fills while the job runs, then shows the end.
	b.run("opening the job", chromedp.Navigate(b.url+"/jobs/"+slow), chromedp.WaitVisible(chromedp.ID("console")))
	b.waitText("#console", "checked mailbox 2 of 6", 20*time.Second)
	if st := b.text("#job-status"); !strings.Contains(st, "Running") {
		t.Errorf("while records arrive, the status shows %q", st)
	}
	b.shot("console-live")
	b.waitText("#job-status", "Completed", 30*time.Second)
	if got := b.text("#console"); !strings.Contains(got, "checked mailbox 6 of 6") || !strings.Contains(got, "something odd") {
		t.Errorf("the finished console: %q", got)
	}
	b.shot("console-done")

	// Flow 5: Stop ends a long job.
	long := startJob(t, s, "user_security_sleeper", "#!/bin/bash\n# @param UserName string mandatory\necho 'waiting'\nsleep 60\n")
	b.run("opening the long job", chromedp.Navigate(b.url+"/jobs/"+long), chromedp.WaitVisible(chromedp.ID("console")))
	b.waitText("#console", "waiting", 20*time.Second)
	b.shot("long-job")
	b.run("pressing Stop", chromedp.Click(chromedp.ID("stop-button")))
	b.waitText("#job-status", "Stopped", 20*time.Second)
	b.shot("stopped")

	// Flow 6: the list finds a job by its id.
	b.run("opening the job list", chromedp.Navigate(b.url+"/jobs"), chromedp.WaitVisible(chromedp.ID("jobs-table")))
	// A job started meanwhile appears without a reload (the event stream).
	fresh := startJob(t, s, "user_security_reset-mfa", "#!/bin/bash\n# @param UserName string mandatory\necho done\n")
	b.run("waiting for the new job in the list", chromedp.WaitVisible(chromedp.CSS(`#jobs-table tr[data-job="`+fresh+`"]`)))
	b.shot("list")
	b.run("searching by id",
		chromedp.SendKeys(chromedp.ID("job-search"), slow),
		chromedp.Submit(chromedp.ID("job-search")),
		chromedp.WaitVisible(chromedp.ID("job-id")),
	)
	if got := b.text("#job-id"); !strings.Contains(got, slow) {
		t.Errorf("the search led to %q, not job %s", got, slow)
	}
	b.shot("found")
}

// TestPortalBrowserTargetsAndForm: flows 2 and 3. A helpdesk supporter
// searches the directory, sees that a VIP-protected runbook is missing on
// the CEO's page but offered on a normal user's, then runs a generated
// form, with the keyboard only, whose select shows and hides a field.
func TestPortalBrowserTargetsAndForm(t *testing.T) {
	s := permServer(t)
	s.put("user_general_portal-form", runbooker.LangBash, portalFormRunbook)
	b := newBrowser(t, s, 1280, 900)
	b.signIn("help@contoso.com")

	// Flow 2. The page lists every user until the search's answer comes,
	// so a search waits for that page (its box carries the words as an
	// attribute, which typing does not set) before it takes the first
	// result: the first of the whole list once opened the CEO's page in
	// place of Jane's.
	search := func(q string) {
		b.run("searching "+q,
			chromedp.Navigate(b.url+"/targets"),
			chromedp.WaitVisible(chromedp.ID("q")),
			chromedp.SendKeys(chromedp.ID("q"), q),
			chromedp.Submit(chromedp.ID("q")),
			chromedp.WaitVisible(chromedp.CSS(`#q[value="`+q+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("#search-results a")),
		)
	}
	search("ceo")
	b.shot("search-ceo")
	b.run("opening the CEO", chromedp.Click(chromedp.CSS("#search-results a")), chromedp.WaitVisible(chromedp.ID("target-name")))
	b.shot("ceo")
	if got := b.text("#main"); strings.Contains(got, "Reset Mfa") || !strings.Contains(got, "ceo@contoso.com") {
		t.Errorf("the CEO's page offers the VIP-protected runbook, or is not the CEO's:\n%s", got)
	}
	search("jane")
	b.run("opening Jane", chromedp.Click(chromedp.CSS("#search-results a")), chromedp.WaitVisible(chromedp.ID("target-runbooks")))
	b.shot("jane")
	if got := b.text("#target-runbooks"); !strings.Contains(got, "Reset Mfa") {
		t.Errorf("Jane's page lacks the runbook the helpdesk may run on her:\n%s", got)
	}

	// Flow 3, by keyboard: open the form, change the select, fill the field
	// it shows, send.
	b.run("opening the form", chromedp.Click(chromedp.ID("run-user_general_portal-form")), chromedp.WaitVisible(chromedp.ID("run-form")))
	hidden := func() bool {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.getElementById("w-Note").hidden`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if !hidden() {
		t.Error(`"Keep it" leaves the Note field shown`)
	}
	b.shot("form-keep")
	b.run("choosing Replace it with the arrow key",
		chromedp.Focus(chromedp.ID("f-Mode")),
		chromedp.KeyEvent(kb.ArrowDown),
	)
	if hidden() {
		t.Fatal(`"Replace it" does not show the Note field`)
	}
	b.shot("form-replace")
	b.run("typing the note and pressing Enter",
		chromedp.Focus(chromedp.ID("f-Note")),
		chromedp.KeyEvent("rotated by the helpdesk"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.ID("job-status")),
	)
	b.waitText("#job-status", "Completed", 30*time.Second)
	b.waitText("#console", "replace", 10*time.Second)
	b.shot("job")
}

// TestPortalBrowserSettingsError: flow 7. An administrator saves a broken
// customization document and sees where it is broken; the stored document
// is unchanged.
func TestPortalBrowserSettingsError(t *testing.T) {
	s := adminPermServer(t)
	b := newBrowser(t, s, 1280, 900)
	b.signIn("jane@contoso.com")
	b.run("opening the customization editor", chromedp.Navigate(b.url+"/admin/settings/customization"), chromedp.WaitVisible(chromedp.ID("settings-editor")))
	b.shot("editor")
	broken := "{\n  \"Parameters\": {\n    \"Mode\": {\"DisplayName\": \"What to do\",,}\n  }\n}\n"
	b.run("saving a broken document",
		chromedp.SetValue(chromedp.ID("settings-editor"), broken),
		chromedp.Click(chromedp.ID("settings-save")),
		chromedp.WaitVisible(chromedp.ID("settings-error")),
	)
	b.shot("error")
	got := b.text("#settings-error")
	if !strings.Contains(got, "line 3") || !strings.Contains(b.text("#settings-error .error-at"), "^") {
		t.Errorf("the error does not show where the document is broken: %q", got)
	}
	if doc, err := s.client.Setting(context.Background(), "customization"); err != nil || strings.Contains(string(doc), "What to do") {
		t.Errorf("the broken document was stored: %s %v", doc, err)
	}
}
