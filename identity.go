package runbooker

import "time"

// IdentityRequest is what a running job asks its managed-identity endpoint
// for: a token for Resource (an application id URI such as
// https://graph.microsoft.com). ClientID and PrincipalID, when a job names
// them, must be those of the tenant's configured application.
type IdentityRequest struct {
	Resource    string `json:"resource"`
	ClientID    string `json:"clientId,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
}

// IdentityToken is an access token of the tenant's application, issued for
// one resource, as a job's managed-identity endpoint hands it out. The
// access token is a secret of the job that asked for it.
type IdentityToken struct {
	AccessToken string    `json:"accessToken"`
	ExpiresOn   time.Time `json:"expiresOn"`
	Resource    string    `json:"resource"`
	TokenType   string    `json:"tokenType"`
	ClientID    string    `json:"clientId"`
}

// JobIdentity tells a worker, with a job's Assignment, that the job's
// tenant has a managed identity: the worker then gives the job the
// managed-identity endpoint. AccountID is the job's
// AUTOMATION_ASSET_ACCOUNTID.
type JobIdentity struct {
	AccountID string `json:"accountId"`
	ClientID  string `json:"clientId"`
}
