package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/engine"
)

// GroupView is a worker group as the management API shows it.
type GroupView struct {
	Name                string    `json:"name"`
	DefaultHybrid       bool      `json:"defaultHybrid"`
	RunAs               string    `json:"runAs,omitempty"`
	MaxRuntimeSeconds   int64     `json:"maxRuntimeSeconds,omitempty"`
	Capacity            int       `json:"capacity,omitempty"`
	PowerShell          string    `json:"powershell,omitempty"`
	SuspendAfterSeconds int64     `json:"suspendAfterSeconds,omitempty"`
	MemoryLimit         int64     `json:"memoryLimit,omitempty"` // bytes per job
	MaxProcesses        int       `json:"maxProcesses,omitempty"`
	CPUWeight           int       `json:"cpuWeight,omitempty"`
	CreatedAt           time.Time `json:"createdAt,omitzero"`
	Token               string    `json:"token,omitempty"` // only in the answer that created or rotated it
	// The registration token's limits, set on create and rotate-token only
	// (PUT keeps them): no registrations after TokenExpiresAt, nor more than
	// TokenMaxUses (0: no limit). TokenUses counts those made with it.
	TokenExpiresAt time.Time    `json:"tokenExpiresAt,omitzero"`
	TokenMaxUses   int          `json:"tokenMaxUses,omitempty"`
	TokenUses      int          `json:"tokenUses,omitempty"`
	Workers        []WorkerView `json:"workers,omitempty"`
}

// WorkerView is a registered worker with its liveness and current jobs.
type WorkerView struct {
	runbooker.Worker
	Online      bool     `json:"online"`
	Status      string   `json:"status"` // online, draining, stopped or offline
	CurrentJobs []string `json:"currentJobs"`
}

func groupView(g *runbooker.WorkerGroup) GroupView {
	return GroupView{Name: g.Name, DefaultHybrid: g.DefaultHybrid, RunAs: g.RunAs, MaxRuntimeSeconds: int64(g.MaxRuntime / time.Second),
		Capacity: g.Capacity, PowerShell: g.PowerShell, SuspendAfterSeconds: int64(g.SuspendAfter / time.Second), CreatedAt: g.CreatedAt,
		MemoryLimit: g.MemoryLimit, MaxProcesses: g.MaxProcesses, CPUWeight: g.CPUWeight,
		TokenExpiresAt: g.TokenExpiresAt, TokenMaxUses: g.TokenMaxUses, TokenUses: g.TokenUses}
}

func (v GroupView) group(tenantID string) *runbooker.WorkerGroup {
	return &runbooker.WorkerGroup{TenantID: tenantID, Name: v.Name, DefaultHybrid: v.DefaultHybrid, RunAs: v.RunAs,
		MaxRuntime: time.Duration(v.MaxRuntimeSeconds) * time.Second, Capacity: v.Capacity, PowerShell: v.PowerShell,
		SuspendAfter: time.Duration(v.SuspendAfterSeconds) * time.Second,
		MemoryLimit:  v.MemoryLimit, MaxProcesses: v.MaxProcesses, CPUWeight: v.CPUWeight,
		TokenExpiresAt: v.TokenExpiresAt, TokenMaxUses: v.TokenMaxUses}
}

// TokenRequest is the optional body of rotate-token: the new token's limits.
type TokenRequest struct {
	TokenExpiresAt time.Time `json:"tokenExpiresAt,omitzero"`
	TokenMaxUses   int       `json:"tokenMaxUses,omitempty"`
}

// TokenView answers rotate-token: the new token, shown once, and its limits.
type TokenView struct {
	Token          string    `json:"token"`
	TokenExpiresAt time.Time `json:"tokenExpiresAt,omitzero"`
	TokenMaxUses   int       `json:"tokenMaxUses,omitempty"`
}

func (s *Server) routeGroups(mux *routeMux) {
	mux.HandleFunc("GET /api/v1/groups", s.authenticate(access.Admin, s.handleListGroups))
	mux.HandleFunc("POST /api/v1/groups", s.authenticate(access.Admin, s.audited("group.create", s.handleCreateGroup)))
	mux.HandleFunc("GET /api/v1/groups/{name}", s.authenticate(access.Admin, s.handleGetGroup))
	mux.HandleFunc("PUT /api/v1/groups/{name}", s.authenticate(access.Admin, s.audited("group.update", s.handleUpdateGroup)))
	mux.HandleFunc("POST /api/v1/groups/{name}/rotate-token", s.authenticate(access.Admin, s.audited("group.rotate-token", s.handleRotateToken)))
	mux.HandleFunc("DELETE /api/v1/groups/{name}", s.authenticate(access.Admin, s.audited("group.delete", s.handleDeleteGroup)))
	mux.HandleFunc("GET /api/v1/workers", s.authenticate(access.Admin, s.handleListWorkers))
	mux.HandleFunc("DELETE /api/v1/workers/{id}", s.authenticate(access.Admin, s.audited("worker.delete", s.handleDeleteWorker)))
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	var v GroupView
	if err := decodeBody(w, r, 64<<10, &v); err != nil {
		s.writeError(w, r, err)
		return
	}
	g := v.group(principal(r.Context()).TenantID)
	token, err := s.Engine.CreateGroup(r.Context(), g)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := groupView(g)
	out.Token = token
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleUpdateGroup(w http.ResponseWriter, r *http.Request) {
	var v GroupView
	if err := decodeBody(w, r, 64<<10, &v); err != nil {
		s.writeError(w, r, err)
		return
	}
	v.Name = r.PathValue("name")
	g := v.group(principal(r.Context()).TenantID)
	if err := s.Engine.UpdateGroup(r.Context(), g); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, groupView(g))
}

func (s *Server) handleRotateToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	body, err := readBody(w, r, 64<<10)
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		if err = json.Unmarshal(body, &req); err != nil {
			err = runbooker.Errorf(runbooker.EINVALID, "request body is not the expected JSON: %v", err)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token, g, err := s.Engine.RotateGroupToken(r.Context(), principal(r.Context()).TenantID, r.PathValue("name"),
		engine.TokenLimits{ExpiresAt: req.TokenExpiresAt, MaxUses: req.TokenMaxUses})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenView{Token: token, TokenExpiresAt: g.TokenExpiresAt, TokenMaxUses: g.TokenMaxUses})
}

func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	if err := s.Engine.DeleteGroup(r.Context(), principal(r.Context()).TenantID, r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	s.writeGroups(w, r, "")
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	s.writeGroups(w, r, r.PathValue("name"))
}

// writeGroups answers with one group (name given) or all, each with its workers.
func (s *Server) writeGroups(w http.ResponseWriter, r *http.Request, name string) {
	tenant := principal(r.Context()).TenantID
	var groups []*runbooker.WorkerGroup
	var err error
	if name != "" {
		var g *runbooker.WorkerGroup
		if g, err = s.Engine.Group(r.Context(), tenant, name); err == nil {
			groups = append(groups, g)
		}
	} else {
		groups, err = s.Engine.ListGroups(r.Context(), tenant)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	workers, err := s.workerViews(r, tenant, name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]GroupView, 0, len(groups))
	for _, g := range groups {
		v := groupView(g)
		v.Workers = []WorkerView{}
		for _, wv := range workers {
			if wv.Group == g.Name {
				v.Workers = append(v.Workers, wv)
			}
		}
		out = append(out, v)
	}
	if name != "" {
		writeJSON(w, http.StatusOK, out[0])
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": out})
}

// workerViews lists a tenant's workers with liveness and the jobs they hold.
func (s *Server) workerViews(r *http.Request, tenant, group string) ([]WorkerView, error) {
	ws, err := s.Store.ListWorkers(r.Context(), tenant, group)
	if err != nil {
		return nil, err
	}
	page, err := s.Store.ListJobs(r.Context(), tenant, runbooker.JobFilter{Limit: 1000,
		Status: []runbooker.JobStatus{runbooker.StatusActivating, runbooker.StatusRunning, runbooker.StatusStopping}})
	if err != nil {
		return nil, err
	}
	now := s.Engine.Now()
	out := make([]WorkerView, 0, len(ws))
	for _, wk := range ws {
		v := WorkerView{Worker: *wk, Online: wk.Online(now), Status: workerStatus(wk, now), CurrentJobs: []string{}}
		for _, j := range page.Jobs {
			if j.WorkerID == wk.ID {
				v.CurrentJobs = append(v.CurrentJobs, j.ID)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Server) handleListWorkers(w http.ResponseWriter, r *http.Request) {
	out, err := s.workerViews(r, principal(r.Context()).TenantID, r.URL.Query().Get("group"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"workers": out})
}

func (s *Server) handleDeleteWorker(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.DeleteWorker(r.Context(), principal(r.Context()).TenantID, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// workerStatus is the one word the lists show for a worker.
func workerStatus(w *runbooker.Worker, now time.Time) string {
	switch {
	case w.State == runbooker.WorkerStopped:
		return "stopped"
	case !w.Online(now):
		return "offline"
	case w.State == runbooker.WorkerDraining:
		return "draining"
	}
	return "online"
}
