package http

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/directory"
	"github.com/runbooker/runbooker/oidcauth"
	"github.com/runbooker/runbooker/password"
)

// SessionCookie carries a signed-in person's session token. The server
// keeps only its hash.
const SessionCookie = "runbooker_session"

// Cookies of an OpenID Connect sign-in under way.
const (
	oidcPendingCookie = "runbooker_oidc"
	oidcTenantCookie  = "runbooker_oidc_tenant"
	oidcNextCookie    = "runbooker_oidc_next"
	oidcPendingMaxAge = 10 * time.Minute
)

// SessionConfig bounds sessions.
type SessionConfig struct {
	Idle     time.Duration // a session unused this long ends (default 30m)
	Absolute time.Duration // no session lives longer (default 12h)
	// SecureCookies marks cookies Secure (sent over HTTPS only). Set it
	// whenever browsers reach the server over HTTPS, TLS-terminating proxy
	// included.
	SecureCookies bool
}

func (c *SessionConfig) defaults() {
	if c.Idle <= 0 {
		c.Idle = 30 * time.Minute
	}
	if c.Absolute <= 0 {
		c.Absolute = 12 * time.Hour
	}
}

// touchEvery is how stale a session's LastSeenAt may be before a request
// writes it again: one write a minute per active session, not per request.
const touchEvery = time.Minute

func (s *Server) routeSessions(mux *routeMux) {
	// Sign-in is deliberately public: it is how one gets a session.
	mux.HandleFunc("POST /api/v1/auth/signin", s.handleSignin)
	mux.HandleFunc("POST /api/v1/auth/signout", s.handleSignout)
	mux.HandleFunc("GET /api/v1/auth/oidc/login", s.handleOIDCLogin)
	mux.HandleFunc("GET /api/v1/auth/oidc/callback", s.handleOIDCCallback)
	mux.HandleFunc("GET /api/v1/me", s.authenticate("", s.handleMe))
}

// sessionCaller admits a request by its session token.
func (s *Server) sessionCaller(w http.ResponseWriter, r *http.Request, token string) (*who, error) {
	ctx := r.Context()
	sess, err := s.Store.Session(ctx, runbooker.HashSecret(token))
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "your session has ended; sign in again")
	} else if err != nil {
		return nil, err
	}
	now := s.Engine.Now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.Config.Session.Idle {
		_ = s.Store.DeleteSession(ctx, sess.IDHash)
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "your session has ended; sign in again")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		return nil, runbooker.Errorf(runbooker.EFORBIDDEN, "a request made with a session cookie must come from this server's own pages (Origin or Referer naming %s)", r.Host)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.Store.TouchSession(ctx, sess.IDHash, now); err != nil {
			return nil, err
		}
	}
	pol, err := s.policyFor(ctx, sess.TenantID)
	if err != nil {
		return nil, err
	}
	c := &who{TenantID: sess.TenantID, Session: sess, UPN: sess.UPN, Name: sess.UPN, Surface: SurfacePortal, policy: pol}
	if err := s.resolvePerson(ctx, c, sess.Groups); err != nil {
		return nil, err
	}
	return c, nil
}

// SigninRequest is the body of POST /api/v1/auth/signin.
type SigninRequest struct {
	Tenant   string `json:"tenant,omitempty"` // default: the default tenant
	UserName string `json:"userName"`
	Password string `json:"password"`
}

// MeView describes the caller: GET /api/v1/me and the answer of a sign-in.
type MeView struct {
	Tenant      string         `json:"tenant"`
	Name        string         `json:"name"`
	Kind        string         `json:"kind"` // person or credential
	UPN         string         `json:"upn,omitempty"`
	DisplayName string         `json:"displayName,omitempty"`
	Method      string         `json:"method,omitempty"` // how the person signed in
	Rights      []access.Right `json:"rights"`
	Groups      []string       `json:"groups"`
	ExpiresAt   time.Time      `json:"expiresAt,omitzero"`
}

func meView(c *who) MeView {
	v := MeView{Tenant: c.TenantID, Name: c.Name, Kind: c.kind(), UPN: c.UPN, Rights: []access.Right{}, Groups: c.Caller.Groups}
	for _, r := range access.AllRights() {
		if c.has(r) {
			v.Rights = append(v.Rights, r)
		}
	}
	if v.Groups == nil {
		v.Groups = []string{}
	}
	if c.Session != nil {
		v.DisplayName, v.Method, v.ExpiresAt = c.Session.DisplayName, c.Session.Method, c.Session.ExpiresAt
	}
	return v
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, meView(principal(r.Context())))
}

// handleSignin checks a user name and password: a local user's first, then,
// when the tenant's directory can check passwords (LDAP), the directory's.
func (s *Server) handleSignin(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in SigninRequest
	if err := decodeStrict(body, &in); err != nil {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, `request body must be {"tenant": T, "userName": U, "password": P}: %s`, jsonProblem(err)))
		return
	}
	if in.Tenant == "" {
		in.Tenant = runbooker.DefaultTenant
	}
	in.UserName = strings.TrimSpace(in.UserName)
	if in.UserName == "" || in.Password == "" || strings.ContainsRune(in.UserName, 0) {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "userName and password are required"))
		return
	}
	addr, key := sourceKey(r), "signin:"+in.Tenant+":"+strings.ToLower(in.UserName)
	if d := s.throttle.check(addr, key); d > 0 {
		s.throttled(w, r, d, "failed sign-ins from this address or for this user")
		return
	}
	id, err := s.checkPassword(r.Context(), in)
	if err != nil {
		if runbooker.ErrorCode(err) == runbooker.EUNAUTHORIZED {
			s.throttle.failed(addr, key)
			s.record(r.Context(), r, auditActor{tenant: in.Tenant, name: in.UserName, kind: "anonymous", surface: SurfacePortal},
				"signin.failure", in.UserName, map[string]any{"reason": runbooker.ErrorMessage(err)})
		}
		s.writeError(w, r, err)
		return
	}
	s.throttle.succeeded(addr, key)
	s.startSession(w, r, in.Tenant, id)
}

// signedIn is a person whose sign-in succeeded.
type signedIn struct {
	UserID, UPN, DisplayName, Method string
	Groups                           []string
}

var errBadPassword = runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid user name or password")

// withHashSlot runs f, a password hash or check, once one of the server's
// hash slots is free.
func (s *Server) withHashSlot(ctx context.Context, f func()) error {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "the server is busy checking passwords; try again")
	}
	defer func() { <-s.hashSlots }()
	f()
	return nil
}

func (s *Server) checkPassword(ctx context.Context, in SigninRequest) (*signedIn, error) {
	u, err := s.Store.User(ctx, in.Tenant, in.UserName)
	switch {
	case err == nil:
		var ok bool
		if err := s.withHashSlot(ctx, func() { ok, err = password.Verify(in.Password, u.PasswordHash) }); err != nil {
			return nil, err
		}
		if err != nil || !ok || u.Disabled {
			return nil, errBadPassword
		}
		return &signedIn{UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, Method: "local"}, nil
	case runbooker.ErrorCode(err) != runbooker.ENOTFOUND:
		return nil, err
	}
	pol, err := s.policyFor(ctx, in.Tenant)
	if err != nil {
		return nil, err
	}
	if pol.dir != nil {
		if auth, ok := directory.AsAuthenticator(pol.dir); ok {
			obj, err := auth.Authenticate(ctx, in.UserName, in.Password)
			if err != nil {
				return nil, err
			}
			upn := obj.UserPrincipalName
			if upn == "" {
				upn = in.UserName
			}
			return &signedIn{UserID: obj.ID, UPN: upn, DisplayName: obj.DisplayName, Method: "ldap"}, nil
		}
	}
	// An unknown user costs what a wrong password costs.
	if err := s.withHashSlot(ctx, func() { password.Dummy(in.Password) }); err != nil {
		return nil, err
	}
	return nil, errBadPassword
}

// startSession creates a session for a person who signed in, sets its
// cookie and answers with who they are.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, tenant string, p *signedIn) {
	ctx := r.Context()
	if err := s.Store.EnsureTenant(ctx, tenant); err != nil {
		s.writeError(w, r, err)
		return
	}
	token, now := runbooker.NewSecret(), s.Engine.Now()
	sess := &runbooker.Session{
		TenantID: tenant, IDHash: runbooker.HashSecret(token), UserID: p.UserID, UPN: p.UPN, DisplayName: p.DisplayName,
		Method: p.Method, Groups: p.Groups, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.Config.Session.Absolute),
	}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookie(w, SessionCookie, token, s.Config.Session.Absolute)
	pol, err := s.policyFor(ctx, tenant)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := &who{TenantID: tenant, Session: sess, UPN: sess.UPN, Name: sess.UPN, Surface: SurfacePortal, policy: pol}
	if err := s.resolvePerson(ctx, c, sess.Groups); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.record(ctx, r, actorOf(c), "signin.success", sess.UPN, map[string]any{"method": p.Method})
	if r.Method == http.MethodGet { // the OIDC callback: back to the page that asked
		http.Redirect(w, r, localPath(readCookie(r, oidcNextCookie)), http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, meView(c))
}

func (s *Server) handleSignout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" {
		sess, err := s.Store.Session(r.Context(), runbooker.HashSecret(ck.Value))
		if err == nil {
			if err := s.Store.DeleteSession(r.Context(), sess.IDHash); err != nil {
				s.writeError(w, r, err)
				return
			}
			s.record(r.Context(), r, auditActor{tenant: sess.TenantID, name: sess.UPN, kind: "person", surface: SurfacePortal}, "signout", sess.UPN, nil)
		}
	}
	s.setCookie(w, SessionCookie, "", -1)
	w.WriteHeader(http.StatusNoContent)
}

// setCookie sets (maxAge > 0) or clears (maxAge < 0) a cookie of the
// server's own pages: HttpOnly, SameSite=Lax, Secure when configured.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.Config.Session.SecureCookies}
	if maxAge < 0 {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, ck)
}

func readCookie(r *http.Request, name string) string {
	if ck, err := r.Cookie(name); err == nil {
		return ck.Value
	}
	return ""
}

// localPath keeps a post-sign-in destination on this server: anything
// but an absolute path of this site becomes "/".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	return p
}

// sealKey derives the key that seals pending OIDC sign-ins from the master
// key, so every server sharing the database can finish a sign-in another began.
func (s *Server) sealKey() []byte { return s.DerivedKey("runbooker oidc pending sign-in") }

// DerivedKey is a key for purpose derived from the master key: the same on
// every server that shares the master key, and different for each purpose.
func (s *Server) DerivedKey(purpose string) []byte {
	keys := s.Engine.Keyring().Keys()
	mac := hmac.New(sha256.New, keys[0])
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// handleOIDCLogin sends the browser to the identity provider.
func (s *Server) handleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.writeError(w, r, runbooker.Errorf(runbooker.ENOTFOUND, "OpenID Connect sign-in is not configured on this server (serve --oidc-issuer …)"))
		return
	}
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" {
		tenant = runbooker.DefaultTenant
	}
	if !validTenantName(tenant) {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "tenant %q is not a tenant name", tenant))
		return
	}
	authURL, pending, err := s.OIDC.Begin(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sealed, err := oidcauth.Seal(s.sealKey(), pending)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookie(w, oidcPendingCookie, sealed, oidcPendingMaxAge)
	s.setCookie(w, oidcTenantCookie, tenant, oidcPendingMaxAge)
	s.setCookie(w, oidcNextCookie, localPath(r.URL.Query().Get("next")), oidcPendingMaxAge)
	http.Redirect(w, r, authURL, http.StatusFound)
}

// handleOIDCCallback finishes an OpenID Connect sign-in.
func (s *Server) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.writeError(w, r, runbooker.Errorf(runbooker.ENOTFOUND, "OpenID Connect sign-in is not configured on this server"))
		return
	}
	tenant := readCookie(r, oidcTenantCookie)
	pending, err := oidcauth.Open(s.sealKey(), readCookie(r, oidcPendingCookie), oidcPendingMaxAge, s.Engine.Now())
	s.setCookie(w, oidcPendingCookie, "", -1)
	if err != nil || !validTenantName(tenant) {
		s.writeError(w, r, runbooker.Errorf(runbooker.EUNAUTHORIZED, "this sign-in was not begun here or took too long; start again"))
		return
	}
	id, err := s.OIDC.Finish(r.Context(), pending, r.URL.Query())
	if err != nil {
		s.record(r.Context(), r, auditActor{tenant: tenant, name: "(unknown)", kind: "anonymous", surface: SurfacePortal},
			"signin.failure", "", map[string]any{"method": "oidc", "reason": runbooker.ErrorMessage(err)})
		s.writeError(w, r, err)
		return
	}
	s.startSession(w, r, tenant, &signedIn{UserID: id.Subject, UPN: id.UPN, DisplayName: id.Name, Method: "oidc", Groups: id.Groups})
}

// validTenantName accepts the names tenants are created with.
func validTenantName(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
