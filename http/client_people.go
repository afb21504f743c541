package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/directory"
)

// Me returns who the client's credential is, with its rights.
func (c *Client) Me(ctx context.Context) (*MeView, error) {
	var v MeView
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/me", nil, &v)
	return &v, err
}

// Setting returns a tenant settings document as stored ({} when unset).
func (c *Client) Setting(ctx context.Context, key string) ([]byte, error) {
	b, _, err := c.do(ctx, http.MethodGet, "/api/v1/settings/"+url.PathEscape(key), nil, "", nil)
	return b, err
}

// TargetRunbooks lists the runbooks the caller may run on a directory
// object (kind user, device or group; id its id or name).
func (c *Client) TargetRunbooks(ctx context.Context, kind directory.Kind, id string) (*TargetRunbooks, error) {
	var v TargetRunbooks
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/targets/"+url.PathEscape(string(kind))+"/"+url.PathEscape(id)+"/runbooks", nil, &v)
	return &v, err
}

// Audit reads one page of the tenant's audit log.
func (c *Client) Audit(ctx context.Context, f runbooker.AuditFilter) (*AuditPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"action": f.Action, "actor": f.Actor, "object": f.Object} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.AfterSeq > 0 {
		q.Set("after", strconv.FormatInt(f.AfterSeq, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p AuditPage
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/audit?"+q.Encode(), nil, &p)
	return &p, err
}

// CreateUser creates a local user who signs in with a password.
func (c *Client) CreateUser(ctx context.Context, in UserInput) (*runbooker.User, error) {
	var u runbooker.User
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/users", in, &u)
	return &u, err
}

// CreateCredential creates an API credential and returns it with its secret.
func (c *Client) CreateCredential(ctx context.Context, in CredentialInput) (*CreatedCredential, error) {
	var v CreatedCredential
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/credentials", in, &v)
	return &v, err
}
