// Package portal is Runbooker's web interface for support staff and
// administrators: server-rendered HTML (html/template, embedded), enhanced
// by htmx where JavaScript runs and complete without it.
//
// The portal holds no rules of its own. Every page is built from the REST
// API, called in-process with the signed-in person's session cookie
// (Portal.call), so what a person sees and may do is decided by the same
// code, and recorded in the same audit log, as for every other caller.
package portal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config describes what the portal offers.
type Config struct {
	// OIDC names the identity provider of the "Sign in with …" button;
	// empty when the server has no OpenID Connect sign-in.
	OIDC string
	// Version is shown in the footer.
	Version string
}

// Portal serves the web interface.
type Portal struct {
	api     http.Handler
	cfg     Config
	csrfKey []byte
	pages   map[string]*template.Template
	static  http.Handler
	log     *slog.Logger
}

// New returns the portal over api, the server's REST API handler.
// secret keys the CSRF tokens; every server sharing a database must be
// given the same one.
func New(api http.Handler, secret []byte, cfg Config, log *slog.Logger) (*Portal, error) {
	if log == nil {
		log = slog.Default()
	}
	p := &Portal{api: api, cfg: cfg, log: log, pages: map[string]*template.Template{}}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("runbooker portal csrf"))
	p.csrfKey = mac.Sum(nil)
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", n)
		if err != nil {
			return nil, fmt.Errorf("portal template %s: %w", n, err)
		}
		p.pages[base] = t
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	p.static = newStatic(sub)
	return p, nil
}

// Handler returns the portal's routes. Everything under /api/ is the
// REST API's; the server mounts this handler for all other paths.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", p.static))
	mux.HandleFunc("GET /login", p.handleLoginPage)
	mux.HandleFunc("POST /login", p.handleLogin)
	mux.HandleFunc("POST /logout", p.person(p.handleLogout))
	mux.HandleFunc("GET /{$}", p.person(p.handleHome))
	p.routeTargets(mux)
	p.routeJobs(mux)
	p.routeAdmin(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.renderError(w, r, nil, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
	return securityHeaders(mux)
}

// securityHeaders sets what every portal answer carries: no framing by
// other sites, no MIME sniffing, scripts only from this server.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Title   string
	Me      *rbhttp.MeView
	CSRF    string
	Path    string
	Version string
	OIDC    string
	Flash   string
	Data    any
}

// Admin reports whether the signed-in person holds the Admin right.
func (pg *page) Has(right string) bool {
	if pg.Me == nil {
		return false
	}
	for _, r := range pg.Me.Rights {
		if string(r) == right || r == "Admin" {
			return true
		}
	}
	return false
}

// render writes a page with the layout around it.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, status int, name, title string, data any) {
	t, ok := p.pages[name]
	if !ok {
		p.log.Error("portal: no such page template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pg := &page{Title: title, Me: me, Path: r.URL.Path, Version: p.cfg.Version, OIDC: p.cfg.OIDC, Data: data,
		Flash: r.URL.Query().Get("flash")}
	if me != nil {
		pg.CSRF = p.csrfToken(r)
	}
	var buf bytes.Buffer
	tmpl := "layout.html"
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") != "" && t.Lookup("partial") != nil {
		tmpl = "partial" // htmx asked for the page's changing part only
	}
	if err := t.ExecuteTemplate(&buf, tmpl, pg); err != nil {
		p.log.Error("portal: rendering", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows a problem as a page.
func (p *Portal) renderError(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, status int, msg string) {
	p.render(w, r, me, status, "error", http.StatusText(status), msg)
}

// apiError is a failed API call: its status and the API's message.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Message }

// call runs a REST API request in-process, as the person whose session
// cookie r carries, and decodes the JSON answer into out.
func (p *Portal) call(r *http.Request, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return p.callRaw(r.Context(), r, method, path, body, "application/json", out)
}

func (p *Portal) callRaw(ctx context.Context, r *http.Request, method, path string, body io.Reader, ctype string, out any) error {
	req := httptest.NewRequestWithContext(ctx, method, path, body)
	req.Host = r.Host
	req.RemoteAddr = r.RemoteAddr
	if c := r.Header.Get("Cookie"); c != "" {
		req.Header.Set("Cookie", c)
	}
	req.Header.Set("Origin", "http://"+r.Host) // the API's check that a cookie request comes from the server's own pages
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	p.api.ServeHTTP(rec, req)
	res := rec.Result()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &apiError{Status: res.StatusCode, Message: msg}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}

// statusOf is the HTTP status an API error stands for.
func statusOf(err error) int {
	if e, ok := err.(*apiError); ok {
		return e.Status
	}
	return http.StatusInternalServerError
}

// messageOf is the text to show for an error.
func messageOf(err error) string {
	if e, ok := err.(*apiError); ok {
		return e.Message
	}
	return runbooker.ErrorMessage(err)
}

type meKey struct{}

// person admits a signed-in person: others go to the sign-in page (a
// full page) or get 401 (an htmx request). Changing requests must carry the
// page's CSRF token.
func (p *Portal) person(h func(http.ResponseWriter, *http.Request, *rbhttp.MeView)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var me rbhttp.MeView
		if err := p.call(r, http.MethodGet, "/api/v1/me", nil, &me); err != nil || me.Kind != "person" {
			if r.Header.Get("HX-Request") == "true" {
				w.Header().Set("HX-Redirect", "/login")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !p.csrfValid(r) {
			p.renderError(w, r, &me, http.StatusForbidden, "This form has expired or did not come from this site. Reload the page and try again.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), meKey{}, &me)), &me)
	}
}

// csrfToken is the CSRF token of the request's session: an HMAC of the
// session cookie, so it needs no storage and ends with the session.
func (p *Portal) csrfToken(r *http.Request) string {
	ck, err := r.Cookie(rbhttp.SessionCookie)
	if err != nil {
		return ""
	}
	mac := hmac.New(sha256.New, p.csrfKey)
	mac.Write([]byte(ck.Value))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// csrfValid checks the token a changing request carries, in the form field
// csrf or the header X-CSRF-Token (htmx).
func (p *Portal) csrfValid(r *http.Request) bool {
	want := p.csrfToken(r)
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return want != "" && hmac.Equal([]byte(got), []byte(want))
}

func (p *Portal) handleHome(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	http.Redirect(w, r, "/targets", http.StatusSeeOther)
}

// localNext keeps a post-sign-in destination on this site.
func localNext(v string) string {
	if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "/\\") || strings.ContainsAny(v, "\r\n") {
		return "/"
	}
	return v
}

type loginData struct {
	Next, UserName, Error string
}

func (p *Portal) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, nil, http.StatusOK, "login", "Sign in", loginData{Next: localNext(r.URL.Query().Get("next"))})
}

// handleLogin signs a person in through the API and passes its session
// cookie on. The form needs no CSRF token (there is no session yet); the
// browser's Origin must be this site, as for every cookie request.
func (p *Portal) handleLogin(w http.ResponseWriter, r *http.Request) {
	d := loginData{Next: localNext(r.PostFormValue("next")), UserName: r.PostFormValue("username")}
	if origin := r.Header.Get("Origin"); origin != "" {
		if u, err := url.Parse(origin); err != nil || !strings.EqualFold(u.Host, r.Host) {
			p.renderError(w, r, nil, http.StatusForbidden, "This sign-in form did not come from this site.")
			return
		}
	}
	in := rbhttp.SigninRequest{UserName: d.UserName, Password: r.PostFormValue("password")}
	b, _ := json.Marshal(in)
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, "/api/v1/auth/signin", bytes.NewReader(b))
	req.Host, req.RemoteAddr = r.Host, r.RemoteAddr
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	p.api.ServeHTTP(rec, req)
	res := rec.Result()
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&e)
		d.Error = e.Error
		if d.Error == "" {
			d.Error = "Sign-in failed."
		}
		p.render(w, r, nil, res.StatusCode, "login", "Sign in", d)
		return
	}
	for _, c := range res.Cookies() {
		http.SetCookie(w, c)
	}
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (p *Portal) handleLogout(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, "/api/v1/auth/signout", nil)
	req.Host, req.RemoteAddr = r.Host, r.RemoteAddr
	req.Header.Set("Cookie", r.Header.Get("Cookie"))
	rec := httptest.NewRecorder()
	p.api.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		http.SetCookie(w, c)
	}
	http.Redirect(w, r, "/login?flash="+url.QueryEscape("You are signed out."), http.StatusSeeOther)
}

// funcs are the helpers templates use.
var funcs = template.FuncMap{
	"since": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"lower": strings.ToLower,
	"eq2":   func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
}
