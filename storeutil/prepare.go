package storeutil

import (
	"time"

	"github.com/runbooker/runbooker"
)

// PrepareJob checks a job about to be created and fills what the store
// decides, as every engine's CreateJob does: an empty ID gets a new UUID, a
// zero CreatedAt gets now; the job is New with attempt and lost count 0,
// or, with a WorkerID and a lease (direct dispatch), Activating with
// attempt 1. It returns the parameters as JSON.
func PrepareJob(j *runbooker.Job, now time.Time) ([]byte, error) {
	if j.TenantID == "" || j.RunbookName == "" || j.RunOn == "" {
		return nil, runbooker.Errorf(runbooker.EINVALID, "job: tenant, runbook name and runOn are required")
	}
	direct := j.WorkerID != ""
	if direct && j.LeaseExpiresAt.IsZero() {
		return nil, runbooker.Errorf(runbooker.EINVALID, "job: a directly dispatched job needs a lease")
	}
	if j.Status != "" && j.Status != runbooker.StatusNew && !(direct && j.Status == runbooker.StatusActivating) {
		return nil, runbooker.Errorf(runbooker.EINVALID, "job: a new job must be New, not %s", j.Status)
	}
	params := j.Parameters
	if params == nil {
		params = map[string]any{}
	}
	pj, err := runbooker.EncodeParameters(params)
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "job: parameters are not JSON: %v", err)
	}
	if j.ID == "" {
		j.ID = runbooker.NewUUID()
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
	j.CreatedAt = j.CreatedAt.UTC()
	j.Status, j.Attempt, j.LostCount = runbooker.StatusNew, 0, 0
	j.StartedAt, j.EndedAt, j.Exception = time.Time{}, time.Time{}, ""
	if direct {
		j.Status, j.Attempt, j.NextSeq = runbooker.StatusActivating, 1, 1
		j.LeaseExpiresAt = j.LeaseExpiresAt.UTC()
	} else {
		j.WorkerID, j.LeaseExpiresAt = "", time.Time{}
	}
	j.LastModifiedAt = j.CreatedAt
	return pj, nil
}

// PrepareJobs prepares each job of a batch as CreateJob does; a batch
// creates queued jobs only, so none may name a worker.
func PrepareJobs(js []*runbooker.Job, now time.Time) ([][]byte, error) {
	out := make([][]byte, len(js))
	for i, j := range js {
		if j.WorkerID != "" {
			return nil, runbooker.Errorf(runbooker.EINVALID, "job %d of the batch: a batch cannot dispatch directly to a worker", i)
		}
		pj, err := PrepareJob(j, now)
		if err != nil {
			return nil, runbooker.Errorf(runbooker.ErrorCode(err), "job %d of the batch: %s", i, runbooker.ErrorMessage(err))
		}
		out[i] = pj
	}
	return out, nil
}

// PrepareAsset checks an asset about to be stored, sets a zero UpdatedAt
// to now and returns its value as bytes (never nil).
func PrepareAsset(a *runbooker.Asset, now time.Time) ([]byte, error) {
	if a.TenantID == "" || a.Name == "" {
		return nil, runbooker.Errorf(runbooker.EINVALID, "asset: tenant and name are required")
	}
	if !a.Type.Valid() {
		return nil, runbooker.Errorf(runbooker.EINVALID, "asset %q: unknown type %q", a.Name, a.Type)
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = now.UTC()
	}
	value := []byte(a.Value)
	if value == nil {
		value = []byte{}
	}
	return value, nil
}
