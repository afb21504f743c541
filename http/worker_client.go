package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/runbooker/runbooker"
)

// WorkerClient is a hybrid worker's side of the worker protocol; it
// implements agent.Transport.
type WorkerClient struct {
	c *Client
	// Wait is how long a claim may be held open by the server (≤ 30 s).
	Wait time.Duration
	// Languages, when set, go with every heartbeat, so the server knows
	// what this worker can run even after it was upgraded or changed.
	Languages []runbooker.Language
}

// Register exchanges a registration token for a worker credential.
func Register(ctx context.Context, server string, tlsCfg *tls.Config, req RegisterRequest) (*RegisterResponse, error) {
	c, err := NewClient(server, "", tlsCfg)
	if err != nil {
		return nil, err
	}
	var out RegisterResponse
	if _, err := c.doJSON(ctx, http.MethodPost, "/api/worker/v1/register", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// NewWorkerClient returns the transport of a registered worker.
func NewWorkerClient(server, workerID, secret string, tlsCfg *tls.Config) (*WorkerClient, error) {
	c, err := NewClient(server, workerID+":"+secret, tlsCfg)
	if err != nil {
		return nil, err
	}
	// A long poll is 30 s at most; anything longer is a dead connection.
	c.HTTP.Timeout = 90 * time.Second
	c.Warn = func(path, warning string) {
		slog.Warn("the server corrected a report of this worker", "call", path, "warning", warning)
	}
	return &WorkerClient{c: c, Wait: 25 * time.Second}, nil
}

// Claim implements agent.Transport.
func (w *WorkerClient) Claim(ctx context.Context, limit int) ([]runbooker.Assignment, error) {
	var out ClaimResponse
	_, err := w.c.doJSON(ctx, http.MethodPost, "/api/worker/v1/claim",
		ClaimRequest{Capacity: limit, WaitSeconds: int(w.Wait / time.Second)}, &out)
	if err != nil {
		return nil, err
	}
	return out.assignments(), nil
}

// Start implements agent.Transport.
func (w *WorkerClient) Start(ctx context.Context, ref runbooker.JobRef, at time.Time) error {
	return w.attempt(ctx, ref.ID, "start", AttemptRequest{Attempt: ref.Attempt, StartedAt: at}, nil)
}

// Heartbeat implements agent.Transport.
func (w *WorkerClient) Heartbeat(ctx context.Context, refs []runbooker.JobRef) ([]runbooker.LeaseState, error) {
	var out struct {
		States []runbooker.LeaseState `json:"states"`
	}
	body := map[string]any{"refs": refs}
	if w.Languages != nil {
		body["languages"] = w.Languages
	}
	_, err := w.c.doJSON(ctx, http.MethodPost, "/api/worker/v1/heartbeat", body, &out)
	return out.States, err
}

// SetState tells the server the worker's state (and languages): active
// when it starts, draining when it stops claiming, stopped when it exits.
// A server older than this call answers 404 (ENOTFOUND).
func (w *WorkerClient) SetState(ctx context.Context, state runbooker.WorkerState, langs []runbooker.Language) error {
	_, err := w.c.doJSON(ctx, http.MethodPost, "/api/worker/v1/state", WorkerStateRequest{State: state, Languages: langs}, nil)
	return err
}

// Append implements agent.Transport.
func (w *WorkerClient) Append(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	return w.attempt(ctx, ref.ID, "streams", AttemptRequest{Attempt: ref.Attempt, Records: recs}, nil)
}

// Finish implements agent.Transport.
func (w *WorkerClient) Finish(ctx context.Context, p runbooker.FinishParams) error {
	return w.attempt(ctx, p.Ref.ID, "finish", AttemptRequest{Attempt: p.Ref.Attempt, Status: p.Status,
		Exception: p.Exception, Records: p.Records, StartedAt: p.StartedAt}, nil)
}

// FinishAndClaim implements agent.FinishClaimer: the finish also claims
// up to limit of the group's queued jobs, in one call and one write of the
// server's store. A server that predates it finishes the job and claims
// none. The jobs returned are the worker's even when the finish failed.
func (w *WorkerClient) FinishAndClaim(ctx context.Context, p runbooker.FinishParams, limit int) ([]runbooker.Assignment, error) {
	body, err := json.Marshal(AttemptRequest{Attempt: p.Ref.Attempt, Status: p.Status, Exception: p.Exception,
		Records: p.Records, StartedAt: p.StartedAt, Claim: limit})
	if err != nil {
		return nil, err
	}
	data, _, err := w.c.do(ctx, http.MethodPost, "/api/worker/v1/jobs/"+url.PathEscape(p.Ref.ID)+"/finish",
		bytes.NewReader(body), "application/json", nil)
	// An error answer holds "claimed" when the claim ran; an older server's
	// answer (the job alone) holds none.
	var out struct {
		Claimed *ClaimResponse `json:"claimed"`
	}
	if len(data) > 0 && json.Unmarshal(data, &out) != nil && err == nil {
		return nil, fmt.Errorf("decoding the answer to the finish of job %s: not the expected JSON", p.Ref.ID)
	}
	if out.Claimed == nil {
		return nil, err
	}
	return out.Claimed.assignments(), err
}

// assignments are the claimed jobs, each with its group's settings.
func (c *ClaimResponse) assignments() []runbooker.Assignment {
	for i := range c.Jobs {
		if c.Jobs[i].Group == nil {
			c.Jobs[i].Group = c.Group
		}
	}
	return c.Jobs
}

func (w *WorkerClient) attempt(ctx context.Context, id, verb string, req AttemptRequest, out any) error {
	_, err := w.c.doJSON(ctx, http.MethodPost, "/api/worker/v1/jobs/"+url.PathEscape(id)+"/"+verb, req, out)
	return err
}

// Asset implements agent.AssetSource: it reads an asset for a job this
// worker holds.
func (w *WorkerClient) Asset(ctx context.Context, j *runbooker.Job, t runbooker.AssetType, name string) (json.RawMessage, bool, error) {
	ref := runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}
	var out AssetResponse
	_, err := w.c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/api/worker/v1/jobs/%s/assets/%s/%s?attempt=%d",
		url.PathEscape(ref.ID), url.PathEscape(string(t)), url.PathEscape(name), ref.Attempt), nil, &out)
	return out.Value, out.Secret, err
}

// SetVariable implements agent.AssetSource: it sets a variable for a job
// this worker holds.
func (w *WorkerClient) SetVariable(ctx context.Context, j *runbooker.Job, name string, value json.RawMessage) error {
	ref := runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}
	_, err := w.c.doJSON(ctx, http.MethodPut, fmt.Sprintf("/api/worker/v1/jobs/%s/assets/variable/%s?attempt=%d",
		url.PathEscape(ref.ID), url.PathEscape(name), ref.Attempt), map[string]json.RawMessage{"value": value}, nil)
	return err
}

// Module fetches an uploaded module or package file of the worker's
// tenant by its SHA-256. The caller checks the hash.
func (w *WorkerClient) Module(ctx context.Context, j *runbooker.Job, sha256 string) ([]byte, error) {
	data, _, err := w.c.do(ctx, http.MethodGet, "/api/worker/v1/modules/"+url.PathEscape(sha256), nil, "", nil)
	return data, err
}
