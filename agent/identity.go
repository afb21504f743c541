package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/runbooker/runbooker"
)

// IdentitySource hands out tokens of a running job's managed identity (the
// tenant's Entra application). The asset source of a Channel implements it
// when the control plane issues them: agent.Local in process, the worker
// protocol's client on hybrid workers.
type IdentitySource interface {
	IdentityToken(ctx context.Context, j *runbooker.Job, req runbooker.IdentityRequest) (*runbooker.IdentityToken, error)
}

// Environment variables of the managed-identity endpoint, Azure
// Automation's names.
const (
	EnvIdentityEndpoint = "IDENTITY_ENDPOINT"
	EnvIdentityHeader   = "IDENTITY_HEADER"
	EnvAccountID        = "AUTOMATION_ASSET_ACCOUNTID"
)

// identityPath is the endpoint's path on the channel, the one Azure Arc
// and hybrid workers use.
const identityPath = "/metadata/identity/oauth2/token"

// IdentityToken implements IdentitySource for the built-in group.
func (l *Local) IdentityToken(ctx context.Context, j *runbooker.Job, req runbooker.IdentityRequest) (*runbooker.IdentityToken, error) {
	return l.Engine.JobIdentityToken(ctx, nil, j.TenantID, runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, req)
}

// openIdentity gives a registered job the managed-identity endpoint: its
// environment, with a header secret of its own, bound to the job's
// processes like the asset token and revoked with it.
func (c *Channel) openIdentity(cj *channelJob, id *runbooker.JobIdentity) map[string]string {
	header := runbooker.NewSecret()
	c.mu.Lock()
	cj.identKey = runbooker.HashSecret(header)
	c.idents[cj.identKey] = cj
	c.mu.Unlock()
	return map[string]string{EnvIdentityEndpoint: c.URL() + identityPath, EnvIdentityHeader: header, EnvAccountID: id.AccountID}
}

// identityError answers in the shape of Azure's managed-identity endpoints:
// App Service's statusCode and message, and the OAuth error fields.
func identityError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": msg, "error": code, "error_description": msg})
}

// handleIdentity is the job's managed-identity endpoint, Azure App Service
// and Automation style: GET ?resource=…&api-version=2019-08-01, or a POST
// of the same parameters as a form (Azure Automation's documented samples),
// with the X-IDENTITY-HEADER secret. Like Automation's endpoint it takes a
// request without api-version (RealmJoin.RunbookHelper probes so) and
// ignores the Metadata header. The token is a secret of the job: its output
// masks it.
func (c *Channel) handleIdentity(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		identityError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET with query parameters, or POST a form")
		return
	}
	header := r.Header.Get("X-IDENTITY-HEADER")
	if header == "" {
		identityError(w, http.StatusUnauthorized, "invalid_request", "the X-IDENTITY-HEADER header (the value of IDENTITY_HEADER) is required")
		return
	}
	c.mu.Lock()
	cj := c.idents[runbooker.HashSecret(header)]
	c.mu.Unlock()
	if cj == nil {
		identityError(w, http.StatusUnauthorized, "invalid_request", "X-IDENTITY-HEADER is not this endpoint's, or its job has ended")
		return
	}
	if why := c.bound(r, cj); why != "" {
		identityError(w, http.StatusUnauthorized, "invalid_request", why)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		identityError(w, http.StatusBadRequest, "invalid_request", "the request's parameters cannot be read: send resource as a query parameter or an application/x-www-form-urlencoded body")
		return
	}
	q := r.Form // the query, and a POST's form
	for _, p := range []string{"mi_res_id", "msi_res_id", "object_id"} {
		if q.Has(p) {
			identityError(w, http.StatusBadRequest, "invalid_request", p+" names a user-assigned identity; this job has only its tenant's application (client_id "+cj.ident.ClientID+")")
			return
		}
	}
	is, ok := c.src.(IdentitySource)
	if !ok {
		identityError(w, http.StatusBadRequest, "invalid_request", "this worker's control plane issues no managed-identity tokens")
		return
	}
	req := runbooker.IdentityRequest{Resource: q.Get("resource"), ClientID: q.Get("client_id"), PrincipalID: q.Get("principal_id")}
	tok, err := is.IdentityToken(r.Context(), cj.job, req)
	if err != nil {
		status := map[string]int{runbooker.EINVALID: 400, runbooker.ENOTFOUND: 404, runbooker.ECONFLICT: 409,
			runbooker.EUNAUTHORIZED: 401, runbooker.EFORBIDDEN: 403}[runbooker.ErrorCode(err)]
		code := "invalid_request"
		if status == 0 {
			status, code = http.StatusBadGateway, "authority_error"
		}
		identityError(w, status, code, runbooker.ErrorMessage(err))
		return
	}
	c.mu.Lock()
	cj.secrets = append(cj.secrets, tok.AccessToken)
	c.mu.Unlock()
	w.Header().Set("Content-Type", jsonType)
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok.AccessToken,
		"expires_on": strconv.FormatInt(tok.ExpiresOn.Unix(), 10), "resource": tok.Resource,
		"token_type": tok.TokenType, "client_id": tok.ClientID})
}
