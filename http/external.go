package http

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/engine"
)

// maxParamsBody bounds the JSON parameters of run/start: room for a
// parameter of 1 MiB and its JSON escaping (issue 11 item 5).
const maxParamsBody = 4 << 20

// RunResponse answers run and start.
type RunResponse struct {
	JobID   string           `json:"jobID"`
	Status  string           `json:"status"`
	Streams []ExternalRecord `json:"streams,omitempty"`
}

func (s *Server) routeExternal(mux *routeMux, prefix string) {
	mux.HandleFunc("POST "+prefix+"/{runbookName}/run", s.authenticate(access.CanRunRunbooks, s.handleRun))
	mux.HandleFunc("POST "+prefix+"/{runbookName}/start", s.authenticate(access.CanRunRunbooks, s.handleStart))
	mux.HandleFunc("GET "+prefix+"/jobs/{jobID}/status", s.authenticate(access.CanReadRunbookDetails, s.handleJobStatus))
	mux.HandleFunc("GET "+prefix+"/jobs/{jobID}/output/text", s.authenticate(access.CanReadRunbookDetails, s.handleOutputText))
	mux.HandleFunc("GET "+prefix+"/jobs/{jobID}/output/streams", s.authenticate(access.CanReadRunbookDetails, s.handleOutputStreams))
	mux.HandleFunc("GET "+prefix+"/jobs/{jobID}/exception/text", s.authenticate(access.CanReadRunbookDetails, s.handleExceptionText))
}

// readParams decodes the JSON object of parameters; an empty body is none.
func readParams(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	body, err := readBody(w, r, maxParamsBody)
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(string(body)); t == "" || t == "null" {
		return map[string]any{}, nil
	}
	var params map[string]any
	if err := json.Unmarshal(body, &params); err != nil || params == nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "request body must be a JSON object mapping parameter names to values")
	}
	return params, nil
}

// createJob creates the job a start or run request asks for; watch also
// subscribes to its end (Engine.CreateJobWatched). The audit entry is
// left to the caller (recordJobStart).
func (s *Server) createJob(w http.ResponseWriter, r *http.Request, watch bool) (*runbooker.Job, *engine.Watch, bool) {
	params, err := readParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return nil, nil, false
	}
	c := principal(r.Context())
	name := r.PathValue("runbookName")
	p := engine.CreateJobParams{
		TenantID:    c.TenantID,
		RunbookName: name,
		Params:      params,
		RunOn:       r.URL.Query().Get("runOn"),
		Caller:      c.Name,
		Authorize:   s.authorizeJob(c),
		// A run's caller hears of the job only in the answer, which Wait
		// gives once the job is durable.
		Unannounced: watch,
	}
	var j *runbooker.Job
	var wt *engine.Watch
	if watch {
		j, wt, err = s.Engine.CreateJobWatched(r.Context(), p)
	} else {
		j, err = s.Engine.CreateJob(r.Context(), p)
	}
	if err != nil {
		if runbooker.ErrorCode(err) == runbooker.EFORBIDDEN {
			s.record(r.Context(), r, actorOf(c), "job.start.denied", name, map[string]any{"reason": runbooker.ErrorMessage(err)})
		}
		s.writeError(w, r, err)
		return nil, nil, false
	}
	return j, wt, true
}

func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	j, _, ok := s.createJob(w, r, false)
	if !ok {
		return
	}
	s.recordJobStart(r.Context(), r, principal(r.Context()), j)
	writeJSON(w, http.StatusOK, RunResponse{JobID: j.ID, Status: string(j.Status)})
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	j, wt, ok := s.createJob(w, r, true)
	if !ok {
		return
	}
	// The audit entry is written while the job runs, and is stored before
	// the answer goes out, as a start's is.
	audited := make(chan struct{})
	go func() {
		defer close(audited)
		s.recordJobStart(r.Context(), r, principal(r.Context()), j)
	}()
	// The job belongs to the platform now: a client that disconnects only
	// stops waiting, it does not cancel the job.
	ctx, cancel := context.WithTimeout(r.Context(), s.Config.RunWait)
	defer cancel()
	out, err := wt.Wait(ctx, j.TenantID)
	<-audited
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !out.Job.Status.Terminal() {
		writeJSON(w, http.StatusAccepted, RunResponse{JobID: j.ID, Status: string(out.Job.Status)})
		return
	}
	s.writeRunAnswer(r.Context(), w, out.Job, out.Records, out.Complete)
}

// job loads the path's job in the caller's tenant, when the caller may
// read it.
func (s *Server) job(w http.ResponseWriter, r *http.Request, name string) (*runbooker.Job, bool) {
	c := principal(r.Context())
	j, err := s.Store.Job(r.Context(), c.TenantID, r.PathValue(name))
	if err == nil {
		var d access.Decision
		if d, err = s.jobVisible(r.Context(), c, j); err == nil && !d.Allow {
			err = forbid(d)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return j, true
}

func (s *Server) handleJobStatus(w http.ResponseWriter, r *http.Request) {
	if j, ok := s.job(w, r, "jobID"); ok {
		writeText(w, string(j.Status))
	}
}

func (s *Server) handleExceptionText(w http.ResponseWriter, r *http.Request) {
	if j, ok := s.job(w, r, "jobID"); ok {
		writeText(w, j.Exception)
	}
}

func (s *Server) handleOutputText(w http.ResponseWriter, r *http.Request) {
	j, ok := s.job(w, r, "jobID")
	if !ok {
		return
	}
	recs, err := s.Store.Streams(r.Context(), j.TenantID, j.ID, runbooker.StreamFilter{Types: []runbooker.StreamType{runbooker.StreamOutput}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b strings.Builder
	for _, rec := range recs {
		b.WriteString(rec.Text)
		b.WriteByte('\n')
	}
	writeText(w, b.String())
}

func (s *Server) handleOutputStreams(w http.ResponseWriter, r *http.Request) {
	types, err := parseStreamTypes(r.URL.Query()["streamTypes"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, ok := s.job(w, r, "jobID")
	if !ok {
		return
	}
	recs, err := s.Store.Streams(r.Context(), j.TenantID, j.ID, runbooker.StreamFilter{Types: types})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, externalRecords(recs))
}

// parseStreamTypes reads streamTypes given once comma-separated or repeated.
func parseStreamTypes(vals []string) ([]runbooker.StreamType, error) {
	var types []runbooker.StreamType
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			t, ok := runbooker.ParseStreamType(part)
			if !ok {
				return nil, runbooker.Errorf(runbooker.EINVALID, "streamTypes: unknown stream type %q (known: Output, Error, Warning, Verbose, Debug, Progress, Information)", part)
			}
			types = append(types, t)
		}
	}
	return types, nil
}
