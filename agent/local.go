package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
)

// Local is the in-process Transport of the built-in worker group: the same
// agent loop as a hybrid worker, with direct calls on the engine.
type Local struct {
	Engine   *engine.Engine
	Group    string // the group served; all tenants
	WorkerID string
	Wait     time.Duration // long-poll length (default 30s)

}

// Claim implements Transport.
func (l *Local) Claim(ctx context.Context, limit int) ([]Assignment, error) {
	wait := l.Wait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	jobs, err := l.Engine.Claim(ctx, engine.ClaimRequest{Group: l.Group, WorkerID: l.WorkerID, Limit: limit, Wait: wait})
	if err != nil {
		return nil, err
	}
	out := make([]Assignment, 0, len(jobs))
	for _, j := range jobs {
		src, err := l.Engine.Store().RunbookContent(ctx, j.TenantID, j.RunbookVersion) // cached by the engine
		if err != nil {
			// The job is claimed; fail it rather than leave it to the rescuer.
			_, _ = l.Engine.Finish(ctx, runbooker.FinishParams{Ref: runbooker.JobRef{ID: j.ID, Attempt: j.Attempt},
				Status: runbooker.StatusFailed, Exception: "runbook source not found: " + runbooker.ErrorMessage(err)})
			continue
		}
		as := Assignment{Job: j, Script: src}
		// The built-in group's settings (RunAs, limits) are per tenant.
		if g, err := l.Engine.DispatchGroup(ctx, j.TenantID, l.Group); err == nil {
			as.Group = g
		}
		out = append(out, as)
	}
	return out, nil
}

// Start implements Transport.
func (l *Local) Start(ctx context.Context, ref runbooker.JobRef, at time.Time) error {
	return l.Engine.StartJob(ctx, ref, at)
}

// Heartbeat implements Transport.
func (l *Local) Heartbeat(ctx context.Context, refs []runbooker.JobRef) ([]runbooker.LeaseState, error) {
	return l.Engine.Heartbeat(ctx, l.WorkerID, refs)
}

// Append implements Transport.
func (l *Local) Append(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	return l.Engine.AppendStreams(ctx, ref, recs)
}

// Finish implements Transport.
func (l *Local) Finish(ctx context.Context, p runbooker.FinishParams) error {
	_, err := l.Engine.Finish(ctx, p)
	return err
}

// Asset implements AssetSource for the built-in group.
func (l *Local) Asset(ctx context.Context, j *runbooker.Job, t runbooker.AssetType, name string) (json.RawMessage, bool, error) {
	return l.Engine.JobAsset(ctx, nil, j.TenantID, runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, t, name)
}

// SetVariable implements AssetSource for the built-in group.
func (l *Local) SetVariable(ctx context.Context, j *runbooker.Job, name string, value json.RawMessage) error {
	return l.Engine.JobSetVariable(ctx, nil, j.TenantID, runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, name, value)
}
