package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// A purge bigger than one batch, with a job of more records than one
// transaction deletes, deletes every terminal job past the cutoff and all
// their records, and nothing else: not the Suspended jobs among them, not
// the job that ended after the cutoff, not another tenant's queued job.
func TestPurgeInBoundedBatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "runbooker.db"))
	defer db.Close()
	base := time.Now().Add(-48 * time.Hour)
	const n = 2*purgeBatch + 37
	js := make([]*runbooker.Job, n)
	for i := range js {
		js[i] = &runbooker.Job{TenantID: "default", RunbookName: "org_general_hi", RunOn: "cloud", CreatedAt: base.Add(time.Duration(i) * time.Second)}
	}
	other := &runbooker.Job{TenantID: "other", RunbookName: "org_general_hi", RunOn: "cloud", CreatedAt: base}
	if err := db.CreateJobs(ctx, append(js, other)); err != nil {
		t.Fatal(err)
	}
	cutoff := base.Add(time.Hour)
	kept := map[string]bool{other.ID: true}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		for i, j := range js {
			status, ended := "Completed", nanos(j.CreatedAt.Add(time.Second))
			switch {
			case i%50 == 7:
				status = "Suspended"
				kept[j.ID] = true
			case i == n-1:
				ended = nanos(cutoff.Add(time.Second)) // created before the cutoff, ended after it
				kept[j.ID] = true
			}
			recs := 2
			if i == 3 {
				recs = 3*purgeRecords*purgeMax + 345
			}
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, ended_at = ? WHERE id = ?`, status, ended, j.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?2)
				INSERT INTO stream_records (job_pk, seq, time, type, text)
				SELECT pk, s.n, 0, 'Output', 'x' FROM jobs, s WHERE id = ?1`, j.ID, recs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.PurgeJobs(ctx, cutoff)
	if err != nil || got != n-len(kept)+1 {
		t.Fatalf("PurgeJobs = %d, %v; want %d", got, err, n-len(kept)+1)
	}
	if c := count(t, db, `SELECT count(*) FROM jobs`); c != len(kept) {
		t.Fatalf("%d jobs left, want %d", c, len(kept))
	}
	for id := range kept {
		if _, err := db.Job(ctx, map[bool]string{true: "other", false: "default"}[id == other.ID], id); err != nil {
			t.Errorf("job %s that must stay: %v", id, err)
		}
	}
	if c := count(t, db, `SELECT count(*) FROM stream_records WHERE job_pk NOT IN (SELECT pk FROM jobs)`); c != 0 {
		t.Fatalf("%d orphaned records after the purge", c)
	}
	if c := count(t, db, `SELECT count(*) FROM stream_records`); c != 2*(len(kept)-1) {
		t.Fatalf("%d records left, want the %d of the jobs kept", c, 2*(len(kept)-1))
	}
	if got, err := db.PurgeJobs(ctx, cutoff); err != nil || got != 0 {
		t.Fatalf("second PurgeJobs = %d, %v; want 0", got, err)
	}
}
