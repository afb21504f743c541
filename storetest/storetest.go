// Package storetest is the conformance suite every runbooker.Store engine
// runs (SQLite, PostgreSQL, …). It tests the semantics documented in
// store.go, and, where the contract is terse, the reading every engine must
// share. Those readings, also spelled out next to the tests:
//
//   - CreateJob queues the job New with attempt 0 (or, with a WorkerID,
//     creates it claimed), keeping a given CreatedAt.
//   - ListJobs: CreatedAfter and CreatedBefore are exclusive; Limit defaults
//     to 100 and is capped at 1000; a malformed cursor is EINVALID; a page
//     that ends at the last job has no cursor.
//   - An attempt holds its job while the job is Activating, Running or
//     Stopping with that attempt number; StartJob, AppendStreams and
//     FinishJob by anyone else are ECONFLICT. A job re-queued by the rescuer
//     keeps its attempt number until the next claim, and the late worker is
//     still fenced off. Records go before (or with) the finish: a finished
//     attempt takes no more.
//   - StartJob of an attempt already Running succeeds (a retry); of an
//     attempt asked to stop while Activating, it succeeds and the job stays
//     Stopping.
//   - ExtendLeases reports Lost for a stale attempt, a job not held, a job
//     held by another worker, and an unknown job (Status "").
//   - A Stopping attempt may finish as Completed, Failed or Stopped.
//   - A lease is expired once Now is past LeaseExpiresAt. The rescuer's
//     Warning record contains "lost" and "attempt N"; an Activating rescue is
//     not counted in LostCount.
//   - PurgeJobs and SuspendWaiting take jobs strictly before their cutoffs.
//   - A registration token hash names one worker group in the whole install.
//   - Assets are keyed by tenant, type and name; a put replaces the asset.
//   - The audit log is read back exactly as appended (time truncated to
//     microseconds, detail compacted) and verifies page by page; the
//     tamper test needs the engine's test store to offer RawExecer.
//
// All times the suite passes are in UTC, carry nanoseconds, and are compared
// with time.Time.Equal: both engines keep times to the nanosecond (Unix
// nanoseconds in an integer column).
package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// Run runs the suite. open must return an empty, migrated store of its own
// (a temp file, a fresh database); Run calls it once per subtest, from
// subtests that run in parallel, and closes the store when the subtest ends. Cleanups that open registers
// run after that Close.
func Run(t *testing.T, open func(t *testing.T) runbooker.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s runbooker.Store)
	}{
		{"Ping", testPing},
		{"Tenants", testTenants},
		{"Settings", testSettings},
		{"Credentials", testCredentials},
		{"RunbookPutGet", testRunbookPutGet},
		{"RunbookVersions", testRunbookVersions},
		{"RunbookDelete", testRunbookDelete},
		{"RunbookTenantScope", testRunbookTenantScope},
		{"RunbookList", testRunbookList},
		{"JobCreateGet", testJobCreateGet},
		{"JobCreateMany", testJobCreateMany},
		{"JobListFilters", testJobListFilters},
		{"JobListPagination", testJobListPagination},
		{"JobListStatusesPaged", testJobListStatusesPaged},
		{"JobListLimits", testJobListLimits},
		{"ClaimFIFO", testClaimFIFO},
		{"QueueStats", testQueueStats},
		{"DirectDispatch", testDirectDispatch},
		{"ClaimLanguages", testClaimLanguages},
		{"SuspendWaitingCountsFromRequeue", testSuspendWaitingCountsFromRequeue},
		{"ClaimTenant", testClaimTenant},
		{"ClaimNextSeq", testClaimNextSeq},
		{"ClaimConcurrent", testClaimConcurrent},
		{"FinishAndClaim", testFinishAndClaim},
		{"StartJob", testStartJob},
		{"ExtendLeases", testExtendLeases},
		{"FinishJob", testFinishJob},
		{"FinishJobRecords", testFinishJobRecords},
		{"RequestStop", testRequestStop},
		{"ResumeJob", testResumeJob},
		{"StreamsAppendRead", testStreamsAppendRead},
		{"StreamsIdempotent", testStreamsIdempotent},
		{"StreamsFenced", testStreamsFenced},
		{"StreamsFilter", testStreamsFilter},
		{"StreamsLargeBatch", testStreamsLargeBatch},
		{"TenantOutputBytes", testTenantOutputBytes},
		{"RescueActivating", testRescueActivating},
		{"RescueRunning", testRescueRunning},
		{"RescueSuspends", testRescueSuspends},
		{"RescueStopping", testRescueStopping},
		{"RescueUnexpired", testRescueUnexpired},
		{"RescueConcurrent", testRescueConcurrent},
		{"PurgeJobs", testPurgeJobs},
		{"SuspendWaiting", testSuspendWaiting},
		{"WorkerGroups", testWorkerGroups},
		{"GroupTokenLimits", testGroupTokenLimits},
		{"Workers", testWorkers},
		{"Assets", testAssets},
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"CredentialUser", testCredentialUser},
		{"JobTarget", testJobTarget},
		{"AuditChain", testAuditChain},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditFilters", testAuditFilters},
		{"Webhooks", testWebhooks},
		{"AuditTamper", testAuditTamper},
		{"Modules", testModules},
		{"Schedules", testSchedules},
		{"JobSchedulesAdvance", testJobSchedulesAdvance},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has a store of its own
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// Tenants used throughout: objects of tenantB must never be visible to
// calls naming tenantA and vice versa.
const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
	group   = "onprem"
	worker1 = "worker-1"
	worker2 = "worker-2"
)

// t0 is the suite's epoch; at(s) is s seconds after it.
var t0 = time.Date(2030, 3, 4, 5, 6, 7, 891011123, time.UTC)

func at(seconds float64) time.Time {
	return t0.Add(time.Duration(seconds * float64(time.Second)))
}

func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantCode fails unless err carries the runbooker error code.
func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := runbooker.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

func wantTime(t *testing.T, got, want time.Time, what string) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// sameParams compares job parameters exactly, types included: a store
// gives them back as they were bound (runbooker.ParameterValue).
func sameParams(t *testing.T, got, want map[string]any, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// sameJSON compares two values by their JSON encodings, which is how
// engines store metadata (numbers come back as float64).
func sameJSON(t *testing.T, got, want any, what string) {
	t.Helper()
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: marshal: %v %v", what, err1, err2)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// newJob returns a job of tenant on group, created at created.
func newJob(tenant, runOn string, created time.Time) *runbooker.Job {
	return &runbooker.Job{
		ID:             runbooker.NewUUID(),
		TenantID:       tenant,
		RunbookName:    "rjgit-user_general_say-hello",
		RunbookVersion: runbooker.ContentHash([]byte("Write-Output hello")),
		Language:       runbooker.LangPowerShell,
		Parameters:     map[string]any{"UserName": "ada@example.com"},
		RunOn:          runOn,
		Caller:         "admin",
		CreatedAt:      created,
	}
}

func createJob(t *testing.T, s runbooker.Store, j *runbooker.Job) *runbooker.Job {
	t.Helper()
	ok(t, s.CreateJob(t.Context(), j), "CreateJob")
	return j
}

func getJob(t *testing.T, s runbooker.Store, tenant, id string) *runbooker.Job {
	t.Helper()
	j, err := s.Job(t.Context(), tenant, id)
	ok(t, err, "Job "+id)
	return j
}

func wantStatus(t *testing.T, s runbooker.Store, tenant, id string, want runbooker.JobStatus) *runbooker.Job {
	t.Helper()
	j := getJob(t, s, tenant, id)
	if j.Status != want {
		t.Fatalf("job %s is %s, want %s", id, j.Status, want)
	}
	return j
}

// claimOne claims the single job expected to be queued for group.
func claimOne(t *testing.T, s runbooker.Store, tenant, wk string, now, until time.Time) *runbooker.Job {
	t.Helper()
	js, err := s.ClaimJobs(t.Context(), runbooker.ClaimParams{
		TenantID: tenant, Group: group, WorkerID: wk, Limit: 1, Now: now, LeaseUntil: until})
	ok(t, err, "ClaimJobs")
	if len(js) != 1 {
		t.Fatalf("ClaimJobs returned %d jobs, want 1", len(js))
	}
	return js[0]
}

// runningJob creates a job at now, claims it by worker1 with a lease until
// now+30s and starts it. It returns the claimed job (Attempt, NextSeq set).
func runningJob(t *testing.T, s runbooker.Store, tenant string, now time.Time) *runbooker.Job {
	t.Helper()
	j := createJob(t, s, newJob(tenant, group, now))
	c := claimOne(t, s, tenant, worker1, now, now.Add(30*time.Second))
	if c.ID != j.ID {
		t.Fatalf("claimed %s, want %s", c.ID, j.ID)
	}
	ok(t, s.StartJob(t.Context(), ref(c), now), "StartJob")
	return c
}

func ref(j *runbooker.Job) runbooker.JobRef { return runbooker.JobRef{ID: j.ID, Attempt: j.Attempt} }

// records returns n Output records numbered from first.
func records(first int64, n int, when time.Time) []runbooker.StreamRecord {
	out := make([]runbooker.StreamRecord, n)
	for i := range out {
		seq := first + int64(i)
		out[i] = runbooker.StreamRecord{Seq: seq, Time: when, Type: runbooker.StreamOutput, Text: fmt.Sprintf("line %d", seq)}
	}
	return out
}

func streams(t *testing.T, s runbooker.Store, tenant, id string, f runbooker.StreamFilter) []runbooker.StreamRecord {
	t.Helper()
	recs, err := s.Streams(t.Context(), tenant, id, f)
	ok(t, err, "Streams")
	return recs
}

func seqs(recs []runbooker.StreamRecord) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func wantSeqs(t *testing.T, recs []runbooker.StreamRecord, want []int64, what string) {
	t.Helper()
	if got := seqs(recs); !slices.Equal(got, want) {
		t.Fatalf("%s: seqs %v, want %v", what, got, want)
	}
}

func jobIDs(js []*runbooker.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}
