package http

import (
	"encoding/json"
	"net/http"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/engine"
)

// AssetView is an asset as the management API shows it: secret values are
// never returned, plain variables are.
type AssetView struct {
	runbooker.Asset
	Value json.RawMessage `json:"value,omitempty"`
}

// AssetPut is the body of PUT /api/v1/assets/{type}/{name}.
type AssetPut struct {
	Description string          `json:"description"`
	Encrypted   bool            `json:"encrypted"`
	Value       json.RawMessage `json:"value"`
}

func assetView(a *runbooker.Asset) AssetView {
	v := AssetView{Asset: *a}
	if !a.Encrypted {
		v.Value = a.Value
	}
	return v
}

func (s *Server) routeAssets(mux *routeMux) {
	mux.HandleFunc("GET /api/v1/assets", s.authenticate(access.Admin, s.handleListAssets))
	mux.HandleFunc("GET /api/v1/assets/{type}/{name}", s.authenticate(access.Admin, s.handleGetAsset))
	mux.HandleFunc("PUT /api/v1/assets/{type}/{name}", s.authenticate(access.Admin, s.audited("asset.put", s.handlePutAsset)))
	mux.HandleFunc("DELETE /api/v1/assets/{type}/{name}", s.authenticate(access.Admin, s.audited("asset.delete", s.handleDeleteAsset)))
}

func (s *Server) handleListAssets(w http.ResponseWriter, r *http.Request) {
	t := runbooker.AssetType(r.URL.Query().Get("type"))
	if t != "" && !t.Valid() {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "type must be variable, credential, certificate or connection"))
		return
	}
	as, err := s.Store.ListAssets(r.Context(), principal(r.Context()).TenantID, t)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]AssetView, 0, len(as))
	for _, a := range as {
		out = append(out, assetView(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": out})
}

func (s *Server) handleGetAsset(w http.ResponseWriter, r *http.Request) {
	a, err := s.Store.Asset(r.Context(), principal(r.Context()).TenantID, runbooker.AssetType(r.PathValue("type")), r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assetView(a))
}

func (s *Server) handlePutAsset(w http.ResponseWriter, r *http.Request) {
	var req AssetPut
	if err := decodeBody(w, r, 1<<20, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.Engine.PutAsset(r.Context(), engine.AssetInput{TenantID: principal(r.Context()).TenantID,
		Type: runbooker.AssetType(r.PathValue("type")), Name: r.PathValue("name"), Description: req.Description,
		Encrypted: req.Encrypted, Value: req.Value})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assetView(a))
}

func (s *Server) handleDeleteAsset(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.DeleteAsset(r.Context(), principal(r.Context()).TenantID, runbooker.AssetType(r.PathValue("type")), r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
