// Package http serves Runbooker's HTTP APIs — the RealmJoin-compatible
// external API, the management API and the worker protocol — and holds the
// typed client the CLI, the worker and the tests use.
package http

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/directory"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/oidcauth"
)

// Config tunes the server.
type Config struct {
	RunWait time.Duration // how long a synchronous run waits before answering 202 (default 10m)
	Version string        // the build's version, answered by GET /api/v1/version
	// Throttle limits failed sign-ins and registrations (throttle.go);
	// zero fields take the defaults. Its clock is the engine's.
	Throttle ThrottleConfig
	Session  SessionConfig
	// DirectoryTTL is how long directory answers (lookups, memberships)
	// are reused (default 1m).
	DirectoryTTL time.Duration
	// DirectoryAllowLocal lets directories that tenants configure connect to
	// loopback and link-local addresses (the server's own services, a cloud
	// metadata endpoint). Off, such connections are refused.
	DirectoryAllowLocal bool
}

// Server is the HTTP front of one control-plane process.
type Server struct {
	Engine *engine.Engine
	Store  runbooker.Store
	Log    *slog.Logger
	Config Config
	Syncer *gitsync.Syncer // upstream git sync; nil answers its routes with 503
	// OIDC signs people in with OpenID Connect; nil when not configured.
	OIDC *oidcauth.Provider
	// OnWebhookFired, when set, is told of every job a webhook started
	// (the metrics count them).
	OnWebhookFired func()
	// UI serves every path outside the APIs (the portal); nil answers
	// them with the JSON 404 of an unknown route.
	UI http.Handler
	// Metrics, when set, serves GET /metrics (Prometheus); it does its own
	// access check (metrics.Protect).
	Metrics http.Handler

	policies policyCache
	// hashSlots bounds the password hashes computed at once: each argon2id
	// hash holds 64 MiB while it runs, so a burst of sign-ins must queue
	// rather than take the server's memory.
	hashSlots chan struct{}

	srv      *http.Server
	ln       net.Listener
	throttle *throttle
	events   *eventBroker // the live event stream (events.go)
	hooks    *hookLimiter // per-webhook call rate (webhook.go)
}

// NewServer returns a server over engine; Open starts it.
func NewServer(e *engine.Engine, cfg Config, log *slog.Logger) *Server {
	if cfg.RunWait <= 0 {
		cfg.RunWait = 10 * time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.DirectoryTTL <= 0 {
		cfg.DirectoryTTL = time.Minute
	}
	cfg.Session.defaults()
	s := &Server{Engine: e, Store: e.Store(), Log: log, Config: cfg, throttle: newThrottle(cfg.Throttle, e.Now),
		hashSlots: make(chan struct{}, max(2, runtime.NumCPU())), hooks: newHookLimiter()}
	s.policies = policyCache{perms: map[string]parsed[*access.Permissions]{}, roles: map[string]parsed[*access.Roles]{},
		dirs: map[string]parsed[directory.Directory]{}, dirTTL: cfg.DirectoryTTL}
	e.SetScheduleCheck(s.schedulable)
	return s
}

// SetDirectory gives tenants without a directory setting of their own
// the server's directory (serve --directory).
func (s *Server) SetDirectory(d directory.Directory) {
	if d != nil {
		d = directory.Cached(d, s.Config.DirectoryTTL, s.Engine.Now)
	}
	s.policies.fallback = d
}

// routeMux is the ServeMux the route* functions register on. It remembers
// every "METHOD /pattern" it is given, so Routes can list what the server
// serves and a test can hold the OpenAPI document to it: a route added
// anywhere is registered through here, and the test then asks for it in
// http/openapi.json.
type routeMux struct {
	mux      *http.ServeMux
	patterns []string
}

// HandleFunc registers h for pattern and records the pattern.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.mux.HandleFunc(pattern, h)
}

// Handle registers h for pattern and records the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.mux.Handle(pattern, h)
}

// Handler returns the complete route table.
func (s *Server) Handler() http.Handler {
	h, _ := s.routes()
	return h
}

// Routes lists every pattern the server registers, "METHOD /path/{name}"
// (the catch-all "/" of the portal and unknown routes included).
func (s *Server) Routes() []string {
	_, patterns := s.routes()
	return patterns
}

func (s *Server) routes() (http.Handler, []string) {
	mux := &routeMux{mux: http.NewServeMux()}
	mux.HandleFunc("GET /healthz", s.handleHealth) // deliberately public: load balancers probe it
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.UI != nil && !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/runbook/") {
			s.UI.ServeHTTP(w, r)
			return
		}
		s.writeError(w, r, runbooker.Errorf(runbooker.ENOTFOUND, "no such route: %s %s", r.Method, r.URL.Path))
	})
	for _, prefix := range []string{"/api/external/runbook", "/runbook"} {
		s.routeExternal(mux, prefix)
	}
	s.routeRunbooks(mux)
	s.routeJobs(mux)
	s.routeGroups(mux)
	s.routeAssets(mux)
	s.routeModules(mux)
	s.routeWorkers(mux)
	s.routeSync(mux)
	s.routeSessions(mux)
	s.routeAudit(mux)
	s.routePeople(mux)
	s.routeEvents(mux)
	s.routeWebhooks(mux)
	s.routeSchedules(mux)
	mux.HandleFunc("GET /api/v1/version", s.authenticate("", s.handleVersion))
	// Deliberately public, like /healthz: the document describes the API,
	// it holds nothing of a tenant's.
	mux.HandleFunc("GET /api/openapi.json", s.handleOpenAPI)
	if s.Metrics != nil {
		// Off unless serve --metrics; not in the OpenAPI document (Prometheus's format).
		mux.Handle("GET /metrics", s.Metrics)
	}
	return s.recoverer(mux.mux), mux.patterns
}

// Open listens on addr (host:port; port 0 picks one) and serves in the
// background. tlsCfg may be nil for plain HTTP.
func (s *Server) Open(addr string, tlsCfg *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // runbook uploads may be large
		WriteTimeout:      s.Config.RunWait + time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops accepting and drains in-flight requests until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.Ping(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// errorStatus is the one table from domain error codes to HTTP statuses.
var errorStatus = map[string]int{
	runbooker.EINVALID:      http.StatusBadRequest,
	runbooker.EUNAUTHORIZED: http.StatusUnauthorized,
	runbooker.EFORBIDDEN:    http.StatusForbidden,
	runbooker.ENOTFOUND:     http.StatusNotFound,
	runbooker.ECONFLICT:     http.StatusConflict,
	runbooker.EUNAVAILABLE:  http.StatusServiceUnavailable,
	runbooker.ETOOMANY:      http.StatusTooManyRequests,
}

// writeError answers with the status for err's code and a JSON
// {"error": message}. Internal errors are logged and never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeErrorWith(w, r, err, nil)
}

// writeErrorWith is writeError whose answer also holds the fields of
// extra, unless the error is internal (whose answer says only that).
func (s *Server) writeErrorWith(w http.ResponseWriter, r *http.Request, err error, extra map[string]any) {
	code := runbooker.ErrorCode(err)
	status, ok := errorStatus[code]
	if !ok {
		status = http.StatusInternalServerError
		s.Log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		extra = nil
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="runbooker", charset="UTF-8"`)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "2")
	}
	body := map[string]any{"error": runbooker.ErrorMessage(err)}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

// readBody reads a request body of at most limit bytes; anything wrong with
// it is the client's error (EINVALID), never a 500.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, runbooker.Errorf(runbooker.EINVALID, "request body is larger than %d bytes", limit)
		}
		return nil, runbooker.Errorf(runbooker.EINVALID, "reading the request body: %v", err)
	}
	return body, nil
}

// VersionView is the server's answer to GET /api/v1/version.
type VersionView struct {
	Version string `json:"version"`
	Go      string `json:"go"`
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	v := s.Config.Version
	if v == "" {
		v = "dev"
	}
	writeJSON(w, http.StatusOK, VersionView{Version: v, Go: runtime.Version()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(text))
}

// recoverer turns a panic in a handler into a logged 500 instead of a dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
