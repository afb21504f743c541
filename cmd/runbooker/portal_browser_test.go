package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
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

// shot saves a PNG of the whole page as <test>-<name>.png.
func (b *browser) shot(name string) {
	b.t.Helper()
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
	b.run("opening the sign-in page", chromedp.Navigate(b.url+"/login"), chromedp.WaitVisible(chromedp.ID("username")))
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
}
