package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/runbooker/runbooker"
)

// IdentityTokenRequest is a worker's request for a token of its job's
// managed identity (ARCHITECTURE.md §4).
type IdentityTokenRequest struct {
	Attempt int `json:"attempt"`
	runbooker.IdentityRequest
}

// handleWorkerIdentityToken hands a worker a token of the tenant's
// application for a job it holds, fenced like asset reads.
func (s *Server) handleWorkerIdentityToken(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	var req IdentityTokenRequest
	if err := decodeBody(w, r, 64<<10, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ref := runbooker.JobRef{ID: r.PathValue("id"), Attempt: req.Attempt}
	tok, err := s.Engine.JobIdentityToken(r.Context(), wk, wk.TenantID, ref, req.IdentityRequest)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tok)
}

// IdentityToken implements agent.IdentitySource: a token of the job's
// managed identity, for a job this worker holds.
func (w *WorkerClient) IdentityToken(ctx context.Context, j *runbooker.Job, req runbooker.IdentityRequest) (*runbooker.IdentityToken, error) {
	var out runbooker.IdentityToken
	_, err := w.c.doJSON(ctx, http.MethodPost, "/api/worker/v1/jobs/"+url.PathEscape(j.ID)+"/identity-token",
		IdentityTokenRequest{Attempt: j.Attempt, IdentityRequest: req}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
