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
func (l *Local) Claim(ctx context.Context, limit int) ([]runbooker.Assignment, error) {
	wait := l.Wait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	// Early: this agent waits for Assignment.Ready itself, so a job handed
	// to it directly is handed while its creation commits.
	return l.Engine.Claim(ctx, engine.ClaimRequest{Group: l.Group, WorkerID: l.WorkerID, Limit: limit, Wait: wait, Early: true})
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

// FinishAndClaim implements FinishClaimer: the finish and the claim of the
// slot's next job share one write of the store.
func (l *Local) FinishAndClaim(ctx context.Context, p runbooker.FinishParams, limit int) ([]runbooker.Assignment, error) {
	_, as, err := l.Engine.FinishAndClaim(ctx, p, engine.ClaimRequest{Group: l.Group, WorkerID: l.WorkerID, Limit: limit})
	return as, err
}

// Asset implements AssetSource for the built-in group.
func (l *Local) Asset(ctx context.Context, j *runbooker.Job, t runbooker.AssetType, name string) (json.RawMessage, bool, error) {
	return l.Engine.JobAsset(ctx, nil, j.TenantID, runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, t, name)
}

// SetVariable implements AssetSource for the built-in group.
func (l *Local) SetVariable(ctx context.Context, j *runbooker.Job, name string, value json.RawMessage) error {
	return l.Engine.JobSetVariable(ctx, nil, j.TenantID, runbooker.JobRef{ID: j.ID, Attempt: j.Attempt}, name, value)
}

// Module implements ModuleSource: an uploaded file of the job's tenant.
func (l *Local) Module(ctx context.Context, j *runbooker.Job, sha256 string) ([]byte, error) {
	return l.Engine.ModuleContent(ctx, j.TenantID, sha256)
}
