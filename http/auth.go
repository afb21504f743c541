package http

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
)

type principalKey struct{}

// Surfaces a request can come through, as the audit log records them.
const (
	SurfaceExternal = "external" // the RealmJoin-compatible API
	SurfaceAPI      = "api"      // the management API, called by a program
	SurfaceCLI      = "cli"      // the management API, called by the runbooker CLI
	SurfacePortal   = "portal"   // a signed-in person's browser
)

// ClientHeader is how the runbooker CLI names itself, so the audit log can
// tell its calls from other programs'. It is informational: anyone may send it.
const ClientHeader = "X-Runbooker-Client"

// who is the authenticated caller of a request: an API credential (bound to
// a person or not) or a person signed in with a session.
type who struct {
	TenantID   string
	Name       string // as jobs and the audit log record the caller
	Credential *runbooker.Credential
	Session    *runbooker.Session
	UPN        string // the person, when there is one
	Caller     access.Caller
	Surface    string
	policy     *policy // the tenant's permissions, roles and directory, read for this request
}

// kind is the audit log's name for the caller's kind.
func (c *who) kind() string {
	if c.Credential != nil {
		return "credential"
	}
	return "person"
}

// has reports whether the caller holds right (Admin holds every right,
// CanRunRunbooks holds CanSeeRunbooks).
func (c *who) has(right access.Right) bool {
	return hasRight(c.Caller.Rights, right)
}

func hasRight(rights map[access.Right]bool, right access.Right) bool {
	switch {
	case right == "" || rights[access.Admin] || rights[right]:
		return true
	case right == access.CanSeeRunbooks:
		return rights[access.CanRunRunbooks]
	}
	return false
}

// principal returns the caller of a request that passed authenticate.
func principal(ctx context.Context) *who {
	c, _ := ctx.Value(principalKey{}).(*who)
	return c
}

// authenticate admits a request with HTTP Basic credentials (user =
// credential id, password = secret) or a session cookie, and requires the
// right need of the caller ("" needs none beyond being signed in).
func (s *Server) authenticate(need access.Right, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.identify(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		} else if c == nil {
			return // throttled: answered
		}
		if !c.has(need) {
			s.writeError(w, r, runbooker.Errorf(runbooker.EFORBIDDEN, "%s lacks the right %s", c.Name, need))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, c)))
	}
}

// identify finds the caller: a session cookie when the request carries one
// and no Basic credentials, else Basic credentials.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (*who, error) {
	if _, _, basic := r.BasicAuth(); !basic {
		if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" {
			return s.sessionCaller(w, r, ck.Value)
		}
	}
	cred, err := s.checkBasic(w, r)
	if err != nil || cred == nil {
		return nil, err
	}
	return s.credentialCaller(r, cred)
}

// credentialCaller builds the caller of an API credential. An unbound admin
// credential has every right; an unbound operator credential the rights of
// the Runbook Runner role, judged only by the enabled and disabled runbook
// patterns (it is in no group). A bound credential is judged exactly as the
// person it is bound to.
func (s *Server) credentialCaller(r *http.Request, cred *runbooker.Credential) (*who, error) {
	pol, err := s.policyFor(r.Context(), cred.TenantID)
	if err != nil {
		return nil, err
	}
	c := &who{TenantID: cred.TenantID, Credential: cred, Name: credentialName(cred), Surface: surfaceOf(r), policy: pol}
	if cred.User == "" {
		rights := access.RunnerRights()
		if cred.Role == runbooker.RoleAdmin {
			rights = map[access.Right]bool{access.Admin: true}
		}
		c.Caller = access.Caller{Name: c.Name, Rights: rights}
		return c, nil
	}
	c.UPN = cred.User
	c.Name = cred.User + " (credential " + credentialName(cred) + ")"
	if err := s.resolvePerson(r.Context(), c, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// resolvePerson fills in a person's groups (from the directory, plus those
// the sign-in named) and rights (from the roles assigned to them or their
// groups). A person the directory does not know keeps only the groups of
// their sign-in.
func (s *Server) resolvePerson(ctx context.Context, c *who, signinGroups []string) error {
	keys := []string{c.UPN}
	groups := append([]string(nil), signinGroups...)
	if d := c.policy.dir; d != nil {
		u, err := d.Lookup(ctx, "user", c.UPN)
		switch {
		case err == nil:
			keys = append(keys, u.ID)
			g, err := d.MemberOf(ctx, "user", u.ID)
			if err != nil {
				return err
			}
			groups = appendNew(groups, g...)
		case runbooker.ErrorCode(err) != runbooker.ENOTFOUND:
			return err
		}
	}
	c.Caller = access.Caller{Name: c.UPN, Person: true, Groups: groups, Rights: c.policy.roles.RightsOf(keys, groups)}
	return nil
}

// appendNew appends the values of add that dst does not hold yet.
func appendNew(dst []string, add ...string) []string {
	seen := make(map[string]bool, len(dst)+len(add))
	for _, v := range dst {
		seen[v] = true
	}
	for _, v := range add {
		if !seen[v] {
			seen[v] = true
			dst = append(dst, v)
		}
	}
	return dst
}

// surfaceOf names the surface a credential's request came through.
func surfaceOf(r *http.Request) string {
	switch {
	case !strings.HasPrefix(r.URL.Path, "/api/v1/") && !strings.HasPrefix(r.URL.Path, "/api/worker/"):
		return SurfaceExternal
	case r.Header.Get(ClientHeader) == "cli":
		return SurfaceCLI
	}
	return SurfaceAPI
}

// checkBasic returns the request's credential. Failed attempts are
// throttled (throttle.go): a throttled request is answered 429 here, and
// checkBasic returns nil and no error.
func (s *Server) checkBasic(w http.ResponseWriter, r *http.Request) (*runbooker.Credential, error) {
	id, secret, ok := r.BasicAuth()
	if !ok || id == "" || secret == "" || strings.ContainsAny(id, "\x00") {
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "authentication required: HTTP Basic with a credential ID as user and its secret as password, or a session (POST /api/v1/auth/signin)")
	}
	addr := sourceKey(r)
	if d := s.throttle.check(addr, id); d > 0 {
		s.throttled(w, r, d, "failed sign-ins from this address or with this credential")
		return nil, nil
	}
	c, err := s.Store.Credential(r.Context(), id)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		// Hash anyway so a wrong id costs the same as a wrong secret.
		runbooker.SecretMatches(secret, strings.Repeat("0", 64))
		s.throttle.failed(addr, id)
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid credentials")
	} else if err != nil {
		return nil, err
	}
	if !runbooker.SecretMatches(secret, c.SecretHash) {
		s.throttle.failed(addr, id)
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid credentials")
	}
	s.throttle.succeeded(addr, id)
	return c, nil
}

// credentialName is how a credential is named in jobs and the audit log.
func credentialName(c *runbooker.Credential) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// sameOrigin reports whether a browser request was made by a page of this
// server: its Origin (or, lacking one, its Referer) names this host. A
// cookie-authenticated request that changes anything must pass it, so
// another site cannot make a signed-in person's browser act for it.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}
