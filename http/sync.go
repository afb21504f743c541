package http

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/gitsync"
)

// maxSyncBody bounds a sync request or source document (an ssh key and a
// few known_hosts lines fit many times over).
const maxSyncBody = 1 << 20

// syncTimeout bounds a sync started through the API. The sync runs on even
// if the client goes away, so a half-applied sync is not left behind.
const syncTimeout = 10 * time.Minute

// SyncRequest is the optional body of POST /api/v1/sync.
type SyncRequest struct {
	Source string `json:"source,omitempty"` // empty: every source of the tenant
	// Adopt takes over same-named runbooks that no source owns.
	Adopt bool `json:"adopt,omitempty"`
}

// SyncResponse is the answer of POST /api/v1/sync.
type SyncResponse struct {
	Reports []*gitsync.Report `json:"reports"`
}

// SyncSourcesResponse is the answer of GET /api/v1/sync/sources.
type SyncSourcesResponse struct {
	Sources []gitsync.SourceView `json:"sources"`
}

// DeleteSyncSourceResponse lists the runbooks removed with a source.
type DeleteSyncSourceResponse struct {
	Removed []string `json:"removed"`
}

func (s *Server) routeSync(mux *routeMux) {
	mux.HandleFunc("POST /api/v1/sync", s.authenticate(access.CanSyncRunbooksWithUpstream, s.audited("sync.run", s.withSyncer(s.handleSync))))
	mux.HandleFunc("GET /api/v1/sync/sources", s.authenticate(access.Admin, s.withSyncer(s.handleListSyncSources)))
	mux.HandleFunc("POST /api/v1/sync/sources", s.authenticate(access.Admin, s.audited("sync-source.create", s.withSyncer(s.handleCreateSyncSource))))
	mux.HandleFunc("GET /api/v1/sync/sources/{id}", s.authenticate(access.Admin, s.withSyncer(s.handleGetSyncSource)))
	mux.HandleFunc("PUT /api/v1/sync/sources/{id}", s.authenticate(access.Admin, s.audited("sync-source.put", s.withSyncer(s.handlePutSyncSource))))
	mux.HandleFunc("DELETE /api/v1/sync/sources/{id}", s.authenticate(access.Admin, s.audited("sync-source.delete", s.withSyncer(s.handleDeleteSyncSource))))
}

// withSyncer answers 503 when the server runs without a syncer.
func (s *Server) withSyncer(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Syncer == nil {
			s.writeError(w, r, runbooker.Errorf(runbooker.EUNAVAILABLE, "upstream sync is not enabled on this server"))
			return
		}
		h(w, r)
	}
}

// decodeSyncBody reads a JSON body into v; an empty body leaves v as is
// when optional. Unknown fields are rejected so a misspelt field (say
// "credential") is not silently dropped.
func decodeSyncBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body, err := readBody(w, r, maxSyncBody)
	if err != nil {
		return err
	}
	if len(body) == 0 && optional {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return runbooker.Errorf(runbooker.EINVALID, "request body: %v", err)
	}
	return nil
}

func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	var req SyncRequest
	if err := decodeSyncBody(w, r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	tenant := principal(r.Context()).TenantID
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), syncTimeout)
	defer cancel()
	var out SyncResponse
	if req.Source != "" {
		rep, err := s.Syncer.SyncWith(ctx, tenant, req.Source, gitsync.Options{Adopt: req.Adopt})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Reports = []*gitsync.Report{rep}
	} else {
		reps, err := s.Syncer.SyncAllWith(ctx, tenant, gitsync.Options{Adopt: req.Adopt})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Reports = reps
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListSyncSources(w http.ResponseWriter, r *http.Request) {
	srcs, err := s.Syncer.Sources(r.Context(), principal(r.Context()).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, SyncSourcesResponse{Sources: srcs})
}

func (s *Server) handleGetSyncSource(w http.ResponseWriter, r *http.Request) {
	v, err := s.Syncer.Source(r.Context(), principal(r.Context()).TenantID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleCreateSyncSource(w http.ResponseWriter, r *http.Request) {
	var in gitsync.SourceInput
	if err := decodeSyncBody(w, r, &in, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.Syncer.CreateSource(r.Context(), principal(r.Context()).TenantID, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) handlePutSyncSource(w http.ResponseWriter, r *http.Request) {
	var in gitsync.SourceInput
	if err := decodeSyncBody(w, r, &in, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if in.ID != "" && in.ID != id {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "body id %q differs from the id %q in the path", in.ID, id))
		return
	}
	in.ID = id
	v, created, err := s.Syncer.PutSource(r.Context(), principal(r.Context()).TenantID, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

// handleDeleteSyncSource removes a source and, unless ?keepRunbooks=true,
// the runbooks it synced.
func (s *Server) handleDeleteSyncSource(w http.ResponseWriter, r *http.Request) {
	keep := false
	switch r.URL.Query().Get("keepRunbooks") {
	case "", "false":
	case "true":
		keep = true
	default:
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "keepRunbooks must be true or false"))
		return
	}
	removed, err := s.Syncer.DeleteSource(r.Context(), principal(r.Context()).TenantID, r.PathValue("id"), keep)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DeleteSyncSourceResponse{Removed: removed})
}
