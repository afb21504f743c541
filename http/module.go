package http

import (
	"net/http"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/engine"
)

// ModuleList is the answer of GET /api/v1/modules.
type ModuleList struct {
	Modules []*runbooker.ModuleRecord `json:"modules"`
}

func (s *Server) routeModules(mux *routeMux) {
	mux.HandleFunc("GET /api/v1/modules", s.authenticate(access.Admin, s.handleListModules))
	mux.HandleFunc("POST /api/v1/modules", s.authenticate(access.Admin, s.audited("module.upload", s.handleUploadModule)))
	mux.HandleFunc("PUT /api/v1/modules/{kind}/{name}/{version}", s.authenticate(access.Admin, s.audited("module.upload", s.handleUploadModule)))
	mux.HandleFunc("GET /api/v1/modules/{kind}/{name}/{version}", s.authenticate(access.Admin, s.handleGetModule))
	mux.HandleFunc("DELETE /api/v1/modules/{kind}/{name}/{version}", s.authenticate(access.Admin, s.audited("module.delete", s.handleDeleteModule)))
}

func (s *Server) handleListModules(w http.ResponseWriter, r *http.Request) {
	ms, err := s.Engine.Modules(r.Context(), principal(r.Context()).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ModuleList{Modules: ms})
}

// handleUploadModule takes the file as the raw body; ?fileName= names it
// (a wheel is told by its .whl ending and named by it if its METADATA
// is missing). PUT also names kind, name and version, which the file must
// agree with.
func (s *Server) handleUploadModule(w http.ResponseWriter, r *http.Request) {
	max := s.Engine.Config().ModuleMaxBytes
	body, err := readBody(w, r, max)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.Engine.UploadModule(r.Context(), engine.UploadModuleParams{
		TenantID: principal(r.Context()).TenantID, FileName: r.URL.Query().Get("fileName"), Content: body,
		Kind: runbooker.ModuleKind(r.PathValue("kind")), Name: r.PathValue("name"), Version: r.PathValue("version"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The audit record names what the file turned out to be.
	r.SetPathValue("kind", string(m.Kind))
	r.SetPathValue("name", m.Name)
	r.SetPathValue("version", m.Version)
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) moduleKind(w http.ResponseWriter, r *http.Request) (runbooker.ModuleKind, bool) {
	k := runbooker.ModuleKind(r.PathValue("kind"))
	if !k.Valid() {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "module kind %q: use ps (PowerShell) or py (Python)", k))
		return "", false
	}
	return k, true
}

func (s *Server) handleGetModule(w http.ResponseWriter, r *http.Request) {
	k, ok := s.moduleKind(w, r)
	if !ok {
		return
	}
	m, err := s.Engine.Module(r.Context(), principal(r.Context()).TenantID, k, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) handleDeleteModule(w http.ResponseWriter, r *http.Request) {
	k, ok := s.moduleKind(w, r)
	if !ok {
		return
	}
	if err := s.Engine.DeleteModule(r.Context(), principal(r.Context()).TenantID, k, r.PathValue("name"), r.PathValue("version")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleWorkerModule serves an uploaded file by its SHA-256 to a worker
// of the tenant that uploaded it; the worker checks the hash.
func (s *Server) handleWorkerModule(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	b, err := s.Engine.ModuleContent(r.Context(), wk.TenantID, r.PathValue("sha256"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
