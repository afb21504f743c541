package http

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/directory"
)

func (s *Server) routeJobs(mux *routeMux) {
	mux.HandleFunc("GET /api/v1/jobs", s.authenticate(access.CanReadRunbookTable, s.handleListJobs))
	mux.HandleFunc("POST /api/v1/jobs/batch", s.authenticate(access.CanRunRunbooks, s.handleStartBatch))
	mux.HandleFunc("GET /api/v1/jobs/{id}", s.authenticate(access.CanReadRunbookDetails, s.handleGetJob))
	mux.HandleFunc("POST /api/v1/jobs/{id}/stop", s.authenticate(access.CanRunRunbooks, s.handleStopJob))
	mux.HandleFunc("POST /api/v1/jobs/{id}/resume", s.authenticate(access.CanRunRunbooks, s.handleResumeJob))
	mux.HandleFunc("GET /api/v1/jobs/{id}/streams", s.authenticate(access.CanReadRunbookDetails, s.handleJobStreams))
	mux.HandleFunc("GET /api/v1/jobs/{id}/source", s.authenticate(access.CanReadRunbookDetails, s.handleJobSource))
}

func (s *Server) handleListJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := runbooker.JobFilter{RunbookName: q.Get("runbook"), RunOn: q.Get("runOn"), Caller: q.Get("caller"), Cursor: q.Get("cursor")}
	for _, v := range q["status"] {
		for _, part := range strings.Split(v, ",") {
			st := runbooker.JobStatus(strings.TrimSpace(part))
			if !st.Valid() {
				s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "status: unknown job status %q", part))
				return
			}
			f.Status = append(f.Status, st)
		}
	}
	var err error
	if f.CreatedAfter, err = queryTime(q.Get("createdAfter"), "createdAfter"); err == nil {
		f.CreatedBefore, err = queryTime(q.Get("createdBefore"), "createdBefore")
	}
	if err == nil && q.Get("limit") != "" {
		f.Limit, err = strconv.Atoi(q.Get("limit"))
		if err != nil || f.Limit < 1 || f.Limit > 1000 {
			err = runbooker.Errorf(runbooker.EINVALID, "limit must be an integer from 1 to 1000 (got %q)", q.Get("limit"))
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := principal(r.Context())
	page, err := s.Store.ListJobs(r.Context(), c.TenantID, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Others than administrators see the jobs they could read one by one;
	// a page may then hold fewer jobs than the limit, and Next goes on.
	if !c.has(access.Admin) {
		kept := page.Jobs[:0]
		for _, j := range page.Jobs {
			d, err := s.jobVisible(r.Context(), c, j)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if d.Allow {
				kept = append(kept, j)
			}
		}
		page.Jobs = kept
	}
	if page.Jobs == nil {
		page.Jobs = []*runbooker.Job{}
	}
	writeJSON(w, http.StatusOK, page)
}

func queryTime(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := runbooker.ParseDateTime(v)
	if err != nil {
		return time.Time{}, runbooker.Errorf(runbooker.EINVALID, "%s must be an ISO-8601 date/time (got %q)", name, v)
	}
	return t, nil
}

func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) {
	if j, ok := s.job(w, r, "id"); ok {
		if j.Status == runbooker.StatusNew && j.StatusReason == "" {
			// Say why a queued job waits when its group has no live worker.
			var live bool
			live, j.StatusReason = s.Engine.GroupStatus(r.Context(), j.TenantID, j.RunOn)
			if live {
				_, j.StatusReason = s.Engine.LanguageStatus(r.Context(), j.TenantID, j.RunOn, j.Language)
			}
		}
		writeJSON(w, http.StatusOK, j)
	}
}

func (s *Server) handleStopJob(w http.ResponseWriter, r *http.Request) {
	s.changeJob(w, r, "job.stop", s.Engine.Stop)
}

func (s *Server) handleResumeJob(w http.ResponseWriter, r *http.Request) {
	s.changeJob(w, r, "job.resume", s.Engine.Resume)
}

// changeJob stops or resumes a job: the caller must be allowed to run its
// runbook on its target, as starting it needed.
func (s *Server) changeJob(w http.ResponseWriter, r *http.Request, action string, change func(ctx context.Context, tenant, id string) (*runbooker.Job, error)) {
	c := principal(r.Context())
	j, ok := s.job(w, r, "id")
	if !ok {
		return
	}
	if !c.has(access.Admin) {
		var t *access.Target
		if j.Target != nil {
			var err error
			if t, err = s.resolveTarget(r.Context(), c.policy, directory.Kind(j.Target.Kind), j.Target.ID, ""); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if d := c.decideTarget(access.Run, j.RunbookName, t); !d.Allow {
			s.record(r.Context(), r, actorOf(c), action+".denied", j.ID, map[string]any{"runbook": j.RunbookName, "reason": d.Reason})
			s.writeError(w, r, forbid(d))
			return
		}
	}
	j, err := change(r.Context(), c.TenantID, j.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.record(r.Context(), r, actorOf(c), action, j.ID, map[string]any{"runbook": j.RunbookName, "status": j.Status})
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) handleJobStreams(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f runbooker.StreamFilter
	var err error
	if v := q.Get("after"); v != "" {
		if f.After, err = strconv.ParseInt(v, 10, 64); err != nil || f.After < 0 {
			s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "after must be a non-negative sequence number (got %q)", v))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "limit must be a positive integer (got %q)", v))
			return
		}
	}
	if f.Types, err = parseStreamTypes(q["streamTypes"]); err != nil {
		s.writeError(w, r, err)
		return
	}
	j, ok := s.job(w, r, "id")
	if !ok {
		return
	}
	recs, err := s.Store.Streams(r.Context(), j.TenantID, j.ID, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if recs == nil {
		recs = []runbooker.StreamRecord{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobStatus": j.Status, "records": recs})
}

func (s *Server) handleJobSource(w http.ResponseWriter, r *http.Request) {
	j, ok := s.job(w, r, "id")
	if !ok {
		return
	}
	src, err := s.Store.RunbookContent(r.Context(), j.TenantID, j.RunbookVersion)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("X-Runbook-Version", j.RunbookVersion)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(src)
}
