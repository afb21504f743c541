package http

import (
	"context"
	"net/http"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/engine"
)

// LinkRequest links a runbook to a schedule (POST /api/v1/jobschedules).
type LinkRequest struct {
	ScheduleName string         `json:"scheduleName"`
	RunbookName  string         `json:"runbookName"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	RunOn        string         `json:"runOn,omitempty"`
}

// ScheduleList answers GET /api/v1/schedules and POST /api/v1/schedules/defaults.
type ScheduleList struct {
	Schedules []runbooker.Schedule `json:"schedules"`
}

// JobScheduleList answers GET /api/v1/jobschedules.
type JobScheduleList struct {
	JobSchedules []runbooker.JobSchedule `json:"jobSchedules"`
}

func (s *Server) routeSchedules(mux *routeMux) {
	edit := access.CanEditRunbookSchedules
	mux.HandleFunc("GET /api/v1/schedules", s.authenticate("", s.handleListSchedules))
	mux.HandleFunc("POST /api/v1/schedules/defaults", s.authenticate(edit, s.audited("schedule.defaults", s.handleDefaultSchedules)))
	mux.HandleFunc("GET /api/v1/schedules/{name}", s.authenticate("", s.handleGetSchedule))
	mux.HandleFunc("PUT /api/v1/schedules/{name}", s.authenticate(edit, s.audited("schedule.put", s.handlePutSchedule)))
	mux.HandleFunc("DELETE /api/v1/schedules/{name}", s.authenticate(edit, s.audited("schedule.delete", s.handleDeleteSchedule)))
	mux.HandleFunc("GET /api/v1/jobschedules", s.authenticate("", s.handleListJobSchedules))
	mux.HandleFunc("POST /api/v1/jobschedules", s.authenticate(edit, s.audited("jobschedule.link", s.handleLink)))
	mux.HandleFunc("DELETE /api/v1/jobschedules/{id}", s.authenticate(edit, s.audited("jobschedule.unlink", s.handleUnlink)))
}

func (s *Server) handleListSchedules(w http.ResponseWriter, r *http.Request) {
	ss, err := s.Engine.Schedules(r.Context(), principal(r.Context()).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ScheduleList{Schedules: ss})
}

func (s *Server) handleDefaultSchedules(w http.ResponseWriter, r *http.Request) {
	ss, err := s.Engine.DefaultSchedules(r.Context(), principal(r.Context()).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ss == nil {
		ss = []runbooker.Schedule{}
	}
	writeJSON(w, http.StatusOK, ScheduleList{Schedules: ss})
}

func (s *Server) handleGetSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := s.Engine.Schedule(r.Context(), principal(r.Context()).TenantID, r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sc)
}

func (s *Server) handlePutSchedule(w http.ResponseWriter, r *http.Request) {
	var sc runbooker.Schedule
	if err := decodeBody(w, r, 64<<10, &sc); err != nil {
		s.writeError(w, r, err)
		return
	}
	sc.TenantID, sc.Name = principal(r.Context()).TenantID, r.PathValue("name")
	out, err := s.Engine.PutSchedule(r.Context(), &sc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDeleteSchedule(w http.ResponseWriter, r *http.Request) {
	if err := s.Engine.DeleteSchedule(r.Context(), principal(r.Context()).TenantID, r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListJobSchedules(w http.ResponseWriter, r *http.Request) {
	jss, err := s.Engine.JobSchedules(r.Context(), principal(r.Context()).TenantID, r.URL.Query().Get("schedule"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, JobScheduleList{JobSchedules: jss})
}

// handleLink links a schedulable runbook: the one decision function
// (Action Schedule) checks the tenant's scheduling patterns and the
// caller's rights once the runbook is known; the engine binds the
// parameters as a start would.
func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	var req LinkRequest
	if err := decodeBody(w, r, 256<<10, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c := principal(r.Context())
	js, err := s.Engine.LinkRunbook(r.Context(), engine.LinkParams{TenantID: c.TenantID, ScheduleName: req.ScheduleName,
		RunbookName: req.RunbookName, Params: req.Parameters, RunOn: req.RunOn, Caller: c.Name,
		Authorize: func(_ context.Context, rb *runbooker.Runbook, _ map[string]any) error {
			if d := c.decide(access.Schedule, rb.Name, nil); !d.Allow {
				return forbid(d)
			}
			return nil
		}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, js)
}

// schedulable is the engine's check before each scheduled run: the
// runbook must still match the tenant's scheduling patterns as they are
// now (a permissions document changed since the link stops its runs).
func (s *Server) schedulable(ctx context.Context, tenantID string, rb *runbooker.Runbook) error {
	pol, err := s.policyFor(ctx, tenantID)
	if err != nil {
		return err
	}
	if pol.permsErr != nil {
		return runbooker.Errorf(runbooker.EFORBIDDEN, "the tenant's permissions document cannot be read: %s", runbooker.ErrorMessage(pol.permsErr))
	}
	if !pol.perms.Schedulable(rb.Name) {
		return runbooker.Errorf(runbooker.EFORBIDDEN, "runbook %q cannot be scheduled in this tenant any more", rb.Name)
	}
	return nil
}

func (s *Server) handleUnlink(w http.ResponseWriter, r *http.Request) {
	if err := s.Engine.Unlink(r.Context(), principal(r.Context()).TenantID, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
