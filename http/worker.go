package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
)

// The worker protocol (ARCHITECTURE.md §4). Workers only ever call the server.

// RegisterRequest is a worker's first call, with its group's token.
type RegisterRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Hostname string `json:"hostname"`
	// Languages the worker has an interpreter for (bash, powershell,
	// python); left out by workers older than this field.
	Languages []runbooker.Language `json:"languages,omitempty"`
}

// WorkerStateRequest is what a worker says of itself when it starts
// (state "", with its languages), begins to drain ("draining") and exits
// ("stopped"), so the server shows it so at once instead of after the
// online window.
type WorkerStateRequest struct {
	State     runbooker.WorkerState `json:"state"`
	Languages []runbooker.Language  `json:"languages,omitempty"`
}

// RegisterResponse carries the worker's own credential, shown once.
type RegisterResponse struct {
	WorkerID string `json:"workerId"`
	Secret   string `json:"secret"`
	TenantID string `json:"tenantId"`
	Group    string `json:"group"`
}

// ClaimRequest asks for up to Capacity jobs, waiting up to WaitSeconds.
type ClaimRequest struct {
	Capacity    int `json:"capacity"`
	WaitSeconds int `json:"waitSeconds"`
}

// ClaimResponse hands jobs to a worker, with its group's current settings:
// once for all jobs in Group (then each job's own Group is left out), or per
// job.
type ClaimResponse struct {
	Jobs  []runbooker.Assignment `json:"jobs"`
	Group *runbooker.WorkerGroup `json:"group,omitempty"`
}

// AttemptRequest is the body of start, streams and finish calls.
type AttemptRequest struct {
	Attempt   int                      `json:"attempt"`
	Status    runbooker.JobStatus      `json:"status,omitempty"`
	Exception string                   `json:"exception,omitempty"`
	Records   []runbooker.StreamRecord `json:"records,omitempty"`
	StartedAt time.Time                `json:"startedAt,omitzero"`
	// Claim, on a finish, asks for up to this many of the group's queued
	// jobs in the same write (without waiting): the slot the finish frees
	// takes its next job with it. The answer is then a FinishResponse.
	// An older server ignores it and answers the job alone.
	Claim int `json:"claim,omitempty"`
}

// FinishResponse answers a finish that asked to claim: the job as it
// ended and the jobs claimed with it, as a claim answers them. When the
// finish is refused (409: the attempt is no longer the worker's) after its
// claim ran, the error answer carries the claimed jobs too, in "claimed".
type FinishResponse struct {
	Job     *runbooker.Job `json:"job"`
	Claimed ClaimResponse  `json:"claimed"`
}

// maxClaim bounds the jobs one claim asks for.
const maxClaim = 256

// AssetResponse is an asset's value as a running job receives it.
type AssetResponse struct {
	Value  json.RawMessage `json:"value"`
	Secret bool            `json:"secret"`
}

const maxWorkerBody = 64 << 20

func (s *Server) routeWorkers(mux *routeMux) {
	const p = "/api/worker/v1"
	mux.HandleFunc("POST "+p+"/register", s.handleRegister)
	mux.HandleFunc("POST "+p+"/claim", s.worker(s.handleClaim))
	mux.HandleFunc("POST "+p+"/heartbeat", s.worker(s.handleHeartbeat))
	mux.HandleFunc("POST "+p+"/state", s.worker(s.handleWorkerState))
	mux.HandleFunc("POST "+p+"/jobs/{id}/start", s.worker(s.handleWorkerStart))
	mux.HandleFunc("POST "+p+"/jobs/{id}/streams", s.worker(s.handleWorkerStreams))
	mux.HandleFunc("POST "+p+"/jobs/{id}/finish", s.worker(s.handleWorkerFinish))
	mux.HandleFunc("GET "+p+"/jobs/{id}/assets/{type}/{name}", s.worker(s.handleWorkerAsset))
	mux.HandleFunc("PUT "+p+"/jobs/{id}/assets/variable/{name}", s.worker(s.handleWorkerSetVariable))
	mux.HandleFunc("POST "+p+"/jobs/{id}/identity-token", s.worker(s.handleWorkerIdentityToken))
	mux.HandleFunc("GET "+p+"/modules/{sha256}", s.worker(s.handleWorkerModule))
}

type workerHandler func(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker)

// worker authenticates a worker credential (Basic: worker id and secret).
func (s *Server) worker(h workerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			s.writeError(w, r, runbooker.Errorf(runbooker.EUNAUTHORIZED, "worker authentication required"))
			return
		}
		addr := sourceKey(r)
		if d := s.throttle.check(addr, id); d > 0 {
			s.throttled(w, r, d, "failed sign-ins from this address or with this credential")
			return
		}
		wk, err := s.Engine.AuthWorker(r.Context(), id, secret)
		if runbooker.ErrorCode(err) == runbooker.EUNAUTHORIZED {
			s.throttle.failed(addr, id)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.throttle.succeeded(addr, id)
		h(w, r, wk)
	}
}

func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	data, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return runbooker.Errorf(runbooker.EINVALID, "request body is not the expected JSON: %v", err)
	}
	return nil
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req RegisterRequest
	if err := decodeBody(w, r, 64<<10, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Every attempt counts, per address and per token: a leaked token
	// registers no faster than a script of the owner's would need.
	addr := sourceKey(r)
	if d := s.throttle.register(addr, runbooker.HashSecret(req.Token)); d > 0 {
		s.throttled(w, r, d, "registrations from this address or with this token")
		return
	}
	wk, secret, err := s.Engine.Register(r.Context(), engine.RegisterParams{Token: req.Token, Name: req.Name,
		Version: req.Version, OS: req.OS, Arch: req.Arch, Hostname: req.Hostname, Languages: req.Languages})
	if runbooker.ErrorCode(err) == runbooker.EUNAUTHORIZED {
		s.throttle.failed(addr, "")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Log.Info("worker registered", "worker", wk.ID, "name", wk.Name, "tenant", wk.TenantID, "group", wk.Group)
	s.record(r.Context(), r, auditActor{tenant: wk.TenantID, name: "worker " + wk.Name, kind: runbooker.ActorWorker, surface: "worker"},
		"worker.register", wk.ID, map[string]any{"group": wk.Group, "name": wk.Name, "host": wk.Hostname, "os": wk.OS})
	writeJSON(w, http.StatusOK, RegisterResponse{WorkerID: wk.ID, Secret: secret, TenantID: wk.TenantID, Group: wk.Group})
}

func (s *Server) handleClaim(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	var req ClaimRequest
	if err := decodeBody(w, r, 64<<10, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Capacity < 0 || req.Capacity > maxClaim {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "capacity must be 0 to %d", maxClaim))
		return
	}
	wait := time.Duration(min(max(req.WaitSeconds, 0), 30)) * time.Second
	if err := s.runAsRefusal(r, wk); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Engine.TouchWorker(r.Context(), wk); err != nil {
		s.writeError(w, r, err)
		return
	}
	jobs, err := s.Engine.Claim(r.Context(), engine.ClaimRequest{TenantID: wk.TenantID, Group: wk.Group,
		WorkerID: wk.ID, Limit: req.Capacity, Wait: wait, Languages: wk.Languages})
	if err != nil {
		if r.Context().Err() != nil {
			return // the worker went away; its claimed jobs (none) are the rescuer's
		}
		s.writeError(w, r, err)
		return
	}
	// Answer even if the worker left meanwhile: jobs it never receives are
	// rescued when their lease expires.
	writeJSON(w, http.StatusOK, claimAnswer(jobs))
}

// claimAnswer is the answer to a claim of jobs. The jobs of one worker's
// claim share its group: the settings go once.
func claimAnswer(jobs []runbooker.Assignment) ClaimResponse {
	resp := ClaimResponse{Jobs: jobs}
	if resp.Jobs == nil {
		resp.Jobs = []runbooker.Assignment{}
	}
	if len(jobs) > 0 && jobs[0].Group != nil {
		resp.Group = jobs[0].Group
		for i := range resp.Jobs {
			if resp.Jobs[i].Group == resp.Group {
				resp.Jobs[i].Group = nil
			}
		}
	}
	return resp
}

// runAsRefusal keeps a Windows worker from claiming the jobs of a group
// with a RunAs user, which it cannot run as (only a Linux worker running
// as root switches users): it would fail every one. The jobs stay queued
// for a worker that can; the worker is not counted as seen, so a group
// with no other is not live and its queued jobs are Suspended (resumable)
// after its SuspendAfter rather than failed. The worker logs the message;
// the server logs a warning naming both.
func (s *Server) runAsRefusal(r *http.Request, wk *runbooker.Worker) error {
	if wk.OS != "windows" {
		return nil
	}
	g, err := s.Engine.DispatchGroup(r.Context(), wk.TenantID, wk.Group)
	if err != nil || g == nil || g.RunAs == "" {
		return nil // no group settings: nothing to refuse
	}
	s.Log.Warn("a Windows worker cannot run the jobs of a group with a RunAs user: it claims none",
		"worker", wk.ID, "name", wk.Name, "tenant", wk.TenantID, "group", wk.Group, "run_as", g.RunAs)
	return runbooker.Errorf(runbooker.EFORBIDDEN, "worker group %q runs its jobs as the user %q, and a Windows worker "+
		"cannot switch users: this worker claims none of the group's jobs. Clear the group's RunAs "+
		"(runbooker group set %s --run-as \"\"), or register this worker in a group without one", wk.Group, g.RunAs, wk.Group)
}

func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	var req struct {
		Refs []runbooker.JobRef `json:"refs"`
		// Languages, when sent, update what the worker can run.
		Languages []runbooker.Language `json:"languages,omitempty"`
	}
	if err := decodeBody(w, r, 1<<20, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	touch := func() error { return s.Engine.TouchWorker(r.Context(), wk) }
	if req.Languages != nil {
		touch = func() error { return s.Engine.ReportWorker(r.Context(), wk, wk.State, req.Languages) }
	}
	if err := touch(); err != nil {
		s.writeError(w, r, err)
		return
	}
	states, err := s.Engine.Heartbeat(r.Context(), wk.ID, req.Refs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"states": states})
}

func (s *Server) handleWorkerState(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	var req WorkerStateRequest
	if err := decodeBody(w, r, 64<<10, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Engine.ReportWorker(r.Context(), wk, req.State, req.Languages); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.State != wk.State {
		s.Log.Info("worker state", "worker", wk.ID, "name", wk.Name, "group", wk.Group, "state", string(req.State))
	}
	w.WriteHeader(http.StatusNoContent)
}

// attempt reads an attempt call and checks the worker holds the attempt.
func (s *Server) attempt(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) (AttemptRequest, heldAttempt, bool) {
	var req AttemptRequest
	if err := decodeBody(w, r, maxWorkerBody, &req); err != nil {
		s.writeError(w, r, err)
		return req, heldAttempt{}, false
	}
	h := heldAttempt{id: r.PathValue("id")}
	var err error
	if h.created, err = s.Engine.HeldAttempt(r.Context(), wk, runbooker.JobRef{ID: h.id, Attempt: req.Attempt}); err != nil {
		s.writeError(w, r, err)
		return req, h, false
	}
	return req, h, true
}

// heldAttempt is the job of an attempt a worker holds, as its calls about
// the attempt need it.
type heldAttempt struct {
	id      string
	created time.Time
}

// workerTime takes a time a worker reports, kept within what the server
// knows: not before the job was created, not after now (clocks differ).
func (s *Server) workerTime(at time.Time, j heldAttempt) time.Time {
	now := s.Engine.Now()
	switch {
	case at.IsZero() || at.After(now):
		return now
	case at.Before(j.created):
		return j.created
	}
	return at
}

// WarningHeader carries a warning about a call that succeeded anyway, such
// as record times the server corrected; the worker client logs it.
const WarningHeader = "Runbooker-Warning"

// clampTimes keeps the times of a worker's records within the attempt's
// window (runbooker.ClampRecordTimes: from the job's creation to now) and
// tells the worker, in WarningHeader, and the server's log when it changed
// any: a worker with a wrong clock, or one that sends no times.
func (s *Server) clampTimes(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker, j heldAttempt, recs []runbooker.StreamRecord) {
	now := time.Now().UTC()
	lo := j.created
	if lo.After(now) {
		lo = now
	}
	n := runbooker.ClampRecordTimes(recs, lo, now)
	if n == 0 {
		return
	}
	msg := fmt.Sprintf("%d of %d records had no time or one outside the attempt's window (%s to %s, the server's clock) "+
		"and were stored with the nearest time in it: check this worker's clock", n, len(recs),
		lo.Format(time.RFC3339), now.Format(time.RFC3339))
	w.Header().Set(WarningHeader, msg)
	s.Log.Warn("worker record times corrected", "worker", wk.ID, "job", j.id, "records", n, "of", len(recs))
}

// assetRef reads the attempt of an asset call from its query.
func assetRef(r *http.Request) (runbooker.JobRef, error) {
	attempt, err := strconv.Atoi(r.URL.Query().Get("attempt"))
	if err != nil {
		return runbooker.JobRef{}, runbooker.Errorf(runbooker.EINVALID, "attempt query parameter is required")
	}
	return runbooker.JobRef{ID: r.PathValue("id"), Attempt: attempt}, nil
}

func (s *Server) handleWorkerStart(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	req, j, ok := s.attempt(w, r, wk)
	if !ok {
		return
	}
	if err := s.Engine.StartJob(r.Context(), runbooker.JobRef{ID: j.id, Attempt: req.Attempt}, s.workerTime(req.StartedAt, j)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleWorkerStreams(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	req, j, ok := s.attempt(w, r, wk)
	if !ok {
		return
	}
	s.clampTimes(w, r, wk, j, req.Records)
	if err := s.Engine.AppendStreams(r.Context(), runbooker.JobRef{ID: j.id, Attempt: req.Attempt}, req.Records); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleWorkerFinish(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	req, held, ok := s.attempt(w, r, wk)
	if !ok {
		return
	}
	s.clampTimes(w, r, wk, held, req.Records)
	var started time.Time
	if !req.StartedAt.IsZero() {
		started = s.workerTime(req.StartedAt, held)
	}
	fp := runbooker.FinishParams{Ref: runbooker.JobRef{ID: held.id, Attempt: req.Attempt},
		Status: req.Status, Exception: req.Exception, Records: req.Records, StartedAt: started}
	if req.Claim < 0 || req.Claim > maxClaim {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "claim must be 0 to %d", maxClaim))
		return
	}
	if req.Claim == 0 {
		j, err := s.Engine.Finish(r.Context(), fp)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, j)
		return
	}
	// A worker that may not claim (runAsRefusal) or is not current only
	// finishes: its claim loop learns why.
	claim := engine.ClaimRequest{TenantID: wk.TenantID, Group: wk.Group, WorkerID: wk.ID, Limit: req.Claim, Languages: wk.Languages}
	if s.runAsRefusal(r, wk) != nil || s.Engine.TouchWorker(r.Context(), wk) != nil {
		claim.Limit = 0
	}
	j, jobs, err := s.Engine.FinishAndClaim(r.Context(), fp, claim)
	if err != nil {
		var extra map[string]any
		if len(jobs) > 0 { // the jobs are the worker's: they go with the refusal
			extra = map[string]any{"claimed": claimAnswer(jobs)}
		}
		s.writeErrorWith(w, r, err, extra)
		return
	}
	writeJSON(w, http.StatusOK, FinishResponse{Job: j, Claimed: claimAnswer(jobs)})
}

func (s *Server) handleWorkerAsset(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	ref, err := assetRef(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, secret, err := s.Engine.JobAsset(r.Context(), wk, wk.TenantID, ref, runbooker.AssetType(r.PathValue("type")), r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, AssetResponse{Value: v, Secret: secret})
}

func (s *Server) handleWorkerSetVariable(w http.ResponseWriter, r *http.Request, wk *runbooker.Worker) {
	ref, err := assetRef(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Value json.RawMessage `json:"value"`
	}
	if err := decodeBody(w, r, 1<<20, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Engine.JobSetVariable(r.Context(), wk, wk.TenantID, ref, r.PathValue("name"), req.Value); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
