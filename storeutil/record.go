package storeutil

import (
	"encoding/json"
	"fmt"

	"github.com/runbooker/runbooker"
)

// CheckRecords checks stream records a worker reports before any is
// stored: a sequence number from 1 up, a known stream type in its canonical
// spelling, and a value that is JSON (or none). The first bad record fails
// the whole batch with EINVALID.
func CheckRecords(ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	for i := range recs {
		if err := checkRecord(&recs[i]); err != nil {
			return runbooker.Errorf(runbooker.EINVALID, "job %s: record %d: %v", ref.ID, i, err)
		}
	}
	return nil
}

func checkRecord(r *runbooker.StreamRecord) error {
	if r.Seq < 1 {
		return fmt.Errorf("sequence number %d, want ≥ 1", r.Seq)
	}
	if t, ok := runbooker.ParseStreamType(string(r.Type)); !ok || t != r.Type {
		return fmt.Errorf("unknown stream type %q", r.Type)
	}
	if len(r.Value) > 0 && !json.Valid(r.Value) {
		return fmt.Errorf("value is not JSON")
	}
	return nil
}

// Fenced is the ECONFLICT for a report from attempt ref.Attempt of a job
// that is now at attempt, in status: either a newer attempt holds the job,
// or the attempt's hold ended (the job finished, or was stopped or
// rescued).
func Fenced(ref runbooker.JobRef, status runbooker.JobStatus, attempt int) error {
	if attempt != ref.Attempt {
		return runbooker.Errorf(runbooker.ECONFLICT, "job %s: attempt %d is stale (current attempt %d, %s)",
			ref.ID, ref.Attempt, attempt, status)
	}
	return runbooker.Errorf(runbooker.ECONFLICT, "job %s: attempt %d no longer holds the job (it is %s)",
		ref.ID, ref.Attempt, status)
}

// CheckFinish checks a finish before any store writes it: a terminal
// status and storable records.
func CheckFinish(p runbooker.FinishParams) error {
	switch p.Status {
	case runbooker.StatusCompleted, runbooker.StatusFailed, runbooker.StatusStopped:
	default:
		return runbooker.Errorf(runbooker.EINVALID, "job %s: cannot finish as %q", p.Ref.ID, p.Status)
	}
	return CheckRecords(p.Ref, p.Records)
}

// CheckFinishAndClaim is CheckFinish and CheckClaim, for a finish that
// claims the slot's next jobs.
func CheckFinishAndClaim(f runbooker.FinishParams, c runbooker.ClaimParams) error {
	if err := CheckFinish(f); err != nil {
		return err
	}
	return CheckClaim(c)
}

// CheckClaim checks that a claim names its group and worker.
func CheckClaim(p runbooker.ClaimParams) error {
	if p.Group == "" || p.WorkerID == "" {
		return runbooker.Errorf(runbooker.EINVALID, "claim: group and worker id are required")
	}
	return nil
}
