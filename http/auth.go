package http

import (
	"context"
	"net/http"
	"strings"

	"github.com/runbooker/runbooker"
)

type principalKey struct{}

// principal returns the authenticated credential of a request that passed
// authenticate.
func principal(ctx context.Context) *runbooker.Credential {
	c, _ := ctx.Value(principalKey{}).(*runbooker.Credential)
	return c
}

// authenticate checks HTTP Basic credentials (user = credential id,
// password = secret) and, when admin is set, requires the admin role.
func (s *Server) authenticate(admin bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.checkBasic(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		} else if c == nil {
			return // throttled: answered
		}
		if admin && c.Role != runbooker.RoleAdmin {
			s.writeError(w, r, runbooker.Errorf(runbooker.EFORBIDDEN, "this credential has role %q; the management API needs %q", c.Role, runbooker.RoleAdmin))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, c)))
	}
}

// checkBasic returns the request's credential. Failed attempts are
// throttled (throttle.go): a throttled request is answered 429 here, and
// checkBasic returns nil and no error.
func (s *Server) checkBasic(w http.ResponseWriter, r *http.Request) (*runbooker.Credential, error) {
	id, secret, ok := r.BasicAuth()
	if !ok || id == "" || secret == "" || strings.ContainsAny(id, "\x00") {
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "authentication required: HTTP Basic with a credential ID as user and its secret as password")
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

// callerName is how a principal is recorded as a job's caller.
func callerName(c *runbooker.Credential) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}
