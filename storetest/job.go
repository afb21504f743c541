package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// A created job is New with attempt 0; its CreatedAt (when given) and
// parameters are kept as given, each value with its type (an integral
// float stays a float, a string array a []string).
func testJobCreateGet(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	j := newJob(tenantA, group, at(1))
	j.Parameters = map[string]any{
		"UserName": "ada@example.com", "Count": int64(3), "Force": true, "Ratio": 2.0, "Big": int64(1) << 53,
		"Aliases": []string{"a", "b"}, "Options": map[string]any{"nested": []any{1.5, "x", nil}, "tags": []string{}},
		"When": "2030-01-02T03:04:05Z",
	}
	j.Language = runbooker.LangBash
	j.LogVerbose = true
	createJob(t, s, j)

	got := getJob(t, s, tenantA, j.ID)
	if got.ID != j.ID || got.TenantID != tenantA || got.RunbookName != j.RunbookName ||
		got.RunbookVersion != j.RunbookVersion || got.Language != j.Language || got.RunOn != j.RunOn ||
		got.Caller != j.Caller || !got.LogVerbose {
		t.Errorf("Job = %+v, want %+v", got, j)
	}
	if got.Status != runbooker.StatusNew || got.Attempt != 0 || got.LostCount != 0 || got.WorkerID != "" ||
		got.Exception != "" {
		t.Errorf("new job state = %s attempt %d lost %d worker %q exception %q; want New, 0, 0, none, none",
			got.Status, got.Attempt, got.LostCount, got.WorkerID, got.Exception)
	}
	sameParams(t, got.Parameters, j.Parameters, "parameters")
	wantTime(t, got.CreatedAt, at(1), "CreatedAt")
	if got.LastModifiedAt.IsZero() {
		t.Error("LastModifiedAt is zero")
	}
	if !got.StartedAt.IsZero() || !got.EndedAt.IsZero() || !got.LeaseExpiresAt.IsZero() {
		t.Errorf("new job has times: started %v ended %v lease %v", got.StartedAt, got.EndedAt, got.LeaseExpiresAt)
	}

	dup := newJob(tenantB, group, at(2))
	dup.ID = j.ID
	wantCode(t, s.CreateJob(ctx, dup), runbooker.ECONFLICT, "CreateJob with an existing id")
	_, err := s.Job(ctx, tenantB, j.ID)
	wantCode(t, err, runbooker.ENOTFOUND, "Job of another tenant")
	_, err = s.Job(ctx, tenantA, runbooker.NewUUID())
	wantCode(t, err, runbooker.ENOTFOUND, "Job unknown")

	noParams := newJob(tenantA, group, at(3))
	noParams.Parameters = nil
	createJob(t, s, noParams)
	if p := getJob(t, s, tenantA, noParams.ID).Parameters; len(p) != 0 {
		t.Errorf("parameters of a job created without any = %v", p)
	}
	if getJob(t, s, tenantA, noParams.ID).LogVerbose {
		t.Error("a job created with LogVerbose off is stored with it on")
	}
}

// listAll pages through a listing and returns every job.
func listAll(t *testing.T, s runbooker.Store, tenant string, f runbooker.JobFilter) []*runbooker.Job {
	t.Helper()
	var all []*runbooker.Job
	for page := 0; ; page++ {
		p, err := s.ListJobs(t.Context(), tenant, f)
		ok(t, err, "ListJobs")
		if f.Limit > 0 && len(p.Jobs) > f.Limit {
			t.Fatalf("page %d has %d jobs, limit %d", page, len(p.Jobs), f.Limit)
		}
		if p.Next != "" && f.Limit > 0 && len(p.Jobs) != f.Limit {
			t.Fatalf("page %d has %d jobs and a next cursor; want full pages of %d", page, len(p.Jobs), f.Limit)
		}
		all = append(all, p.Jobs...)
		if p.Next == "" {
			return all
		}
		if page > 10000 {
			t.Fatal("pagination does not end")
		}
		f.Cursor = p.Next
	}
}

// wantNewestFirst checks got has exactly the jobs of want (any order among
// equal CreatedAt) and is ordered newest first.
func wantNewestFirst(t *testing.T, got []*runbooker.Job, want []*runbooker.Job, what string) {
	t.Helper()
	g, w := jobIDs(got), jobIDs(want)
	for i := 1; i < len(got); i++ {
		if got[i].CreatedAt.After(got[i-1].CreatedAt) {
			t.Fatalf("%s: not newest first at %d: %v after %v", what, i, got[i].CreatedAt, got[i-1].CreatedAt)
		}
	}
	slices.Sort(g)
	slices.Sort(w)
	if len(slices.Compact(slices.Clone(g))) != len(g) {
		t.Fatalf("%s: a job is listed twice", what)
	}
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got %d jobs %v, want %d jobs %v", what, len(g), g, len(w), w)
	}
}

// Filters combine with AND. CreatedAfter and CreatedBefore are exclusive.
func testJobListFilters(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	mk := func(sec float64, runbook, runOn, caller string) *runbooker.Job {
		j := newJob(tenantA, runOn, at(sec))
		j.RunbookName, j.Caller = runbook, caller
		return createJob(t, s, j)
	}
	j1 := mk(1, "rb-one", group, "alice")
	j2 := mk(2, "rb-two", group, "bob")
	j3 := mk(3, "rb-one", "cloud", "alice")
	j4 := mk(4, "rb-two", "cloud", "carol")
	j5 := mk(5, "rb-one", group, "bob")
	other := newJob(tenantB, group, at(2.5))
	createJob(t, s, other)

	// j1 → Running (oldest of group), j3 → Stopped, the rest stay New.
	c := claimOne(t, s, tenantA, worker1, at(10), at(40))
	if c.ID != j1.ID {
		t.Fatalf("claimed %s, want the oldest %s", c.ID, j1.ID)
	}
	ok(t, s.StartJob(ctx, ref(c), at(10)), "StartJob")
	if _, err := s.RequestStop(ctx, tenantA, j3.ID, at(11)); err != nil {
		t.Fatal(err)
	}

	all := []*runbooker.Job{j5, j4, j3, j2, j1}
	for _, tc := range []struct {
		name string
		f    runbooker.JobFilter
		want []*runbooker.Job
	}{
		{"none", runbooker.JobFilter{}, all},
		{"status New", runbooker.JobFilter{Status: []runbooker.JobStatus{runbooker.StatusNew}}, []*runbooker.Job{j5, j4, j2}},
		{"status Running,Stopped", runbooker.JobFilter{Status: []runbooker.JobStatus{runbooker.StatusRunning, runbooker.StatusStopped}}, []*runbooker.Job{j3, j1}},
		{"status Failed", runbooker.JobFilter{Status: []runbooker.JobStatus{runbooker.StatusFailed}}, nil},
		{"runbook", runbooker.JobFilter{RunbookName: "rb-one"}, []*runbooker.Job{j5, j3, j1}},
		{"runOn", runbooker.JobFilter{RunOn: "cloud"}, []*runbooker.Job{j4, j3}},
		{"caller", runbooker.JobFilter{Caller: "bob"}, []*runbooker.Job{j5, j2}},
		{"created after", runbooker.JobFilter{CreatedAfter: at(3)}, []*runbooker.Job{j5, j4}},
		{"created before", runbooker.JobFilter{CreatedBefore: at(3)}, []*runbooker.Job{j2, j1}},
		{"created range", runbooker.JobFilter{CreatedAfter: at(1), CreatedBefore: at(5)}, []*runbooker.Job{j4, j3, j2}},
		{"combined", runbooker.JobFilter{RunbookName: "rb-one", RunOn: group, Caller: "bob",
			Status: []runbooker.JobStatus{runbooker.StatusNew}}, []*runbooker.Job{j5}},
		{"combined paged", runbooker.JobFilter{RunbookName: "rb-one", Limit: 1}, []*runbooker.Job{j5, j3, j1}},
	} {
		got := listAll(t, s, tenantA, tc.f)
		wantNewestFirst(t, got, tc.want, tc.name)
		if !slices.Equal(jobIDs(got), jobIDs(tc.want)) { // distinct times: the order is exact
			t.Fatalf("%s: order %v, want %v", tc.name, jobIDs(got), jobIDs(tc.want))
		}
	}
	got := listAll(t, s, tenantB, runbooker.JobFilter{})
	if len(got) != 1 || got[0].ID != other.ID {
		t.Fatalf("ListJobs(B) = %v, want only %s", jobIDs(got), other.ID)
	}
	_, err := s.ListJobs(ctx, tenantA, runbooker.JobFilter{Cursor: "not a cursor!"})
	wantCode(t, err, runbooker.EINVALID, "ListJobs with a malformed cursor")
}

// Cursor pagination neither skips nor repeats, even across equal CreatedAt,
// and jobs created while paging do not disturb it.
func testJobListPagination(t *testing.T, s runbooker.Store) {
	var want []*runbooker.Job
	for i := range 25 {
		created := at(float64(i))
		if i >= 8 && i < 18 {
			created = at(100) // ten jobs share one timestamp
		}
		want = append(want, createJob(t, s, newJob(tenantA, group, created)))
	}
	createJob(t, s, newJob(tenantB, group, at(100)))
	for _, limit := range []int{1, 3, 4, 7, 10, 24, 25, 26} {
		got := listAll(t, s, tenantA, runbooker.JobFilter{Limit: limit})
		wantNewestFirst(t, got, want, fmt.Sprintf("limit %d", limit))
	}

	// A page that ends exactly at the last job has no next cursor.
	p, err := s.ListJobs(t.Context(), tenantA, runbooker.JobFilter{Limit: 25})
	ok(t, err, "ListJobs")
	if len(p.Jobs) != 25 || p.Next != "" {
		t.Fatalf("limit 25 of 25: %d jobs, next %q; want 25 and no cursor", len(p.Jobs), p.Next)
	}

	// New jobs arriving between pages (newer than the cursor) change nothing.
	p, err = s.ListJobs(t.Context(), tenantA, runbooker.JobFilter{Limit: 6})
	ok(t, err, "ListJobs")
	seen := slices.Clone(p.Jobs)
	for range 5 {
		createJob(t, s, newJob(tenantA, group, at(100)))
		createJob(t, s, newJob(tenantA, group, at(1000)))
	}
	seen = append(seen, listAll(t, s, tenantA, runbooker.JobFilter{Limit: 6, Cursor: p.Next})...)
	wantNewestFirst(t, seen, want, "paging while jobs are created")
}

// A listing of several statuses (the engines merge one range per status)
// is the unfiltered listing with the other statuses left out, in the same
// order, paged without skips or repeats across equal CreatedAt, whatever
// order the statuses are named in and if one is named twice.
func testJobListStatusesPaged(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	for i := range 13 {
		created := at(float64(i))
		if i >= 4 && i < 10 {
			created = at(50) // six jobs share one timestamp
		}
		j := createJob(t, s, newJob(tenantA, group, created))
		if i%3 == 0 {
			if _, err := s.RequestStop(ctx, tenantA, j.ID, at(60)); err != nil {
				t.Fatal(err)
			}
		}
	}
	createJob(t, s, newJob(tenantB, group, at(50)))
	c := claimOne(t, s, tenantA, worker1, at(70), at(100)) // the oldest New job: Activating
	ok(t, s.StartJob(ctx, ref(c), at(70)), "StartJob")
	every := listAll(t, s, tenantA, runbooker.JobFilter{})
	only := func(ss ...runbooker.JobStatus) []string {
		var out []string
		for _, j := range every {
			if slices.Contains(ss, j.Status) {
				out = append(out, j.ID)
			}
		}
		return out
	}
	if len(only(runbooker.StatusStopped)) != 5 || len(only(runbooker.StatusRunning)) != 1 || len(only(runbooker.StatusNew)) != 7 {
		t.Fatalf("setup: %d Stopped, %d Running, %d New; want 5, 1, 7", len(only(runbooker.StatusStopped)),
			len(only(runbooker.StatusRunning)), len(only(runbooker.StatusNew)))
	}
	for _, tc := range []struct {
		status []runbooker.JobStatus
		want   []string
	}{
		{[]runbooker.JobStatus{runbooker.StatusStopped, runbooker.StatusNew}, only(runbooker.StatusStopped, runbooker.StatusNew)},
		{[]runbooker.JobStatus{runbooker.StatusNew, runbooker.StatusRunning, runbooker.StatusStopped, runbooker.StatusNew},
			only(runbooker.StatusNew, runbooker.StatusRunning, runbooker.StatusStopped)},
		{[]runbooker.JobStatus{runbooker.StatusRunning, runbooker.StatusFailed}, only(runbooker.StatusRunning)},
		{[]runbooker.JobStatus{runbooker.StatusFailed, runbooker.StatusCompleted}, nil},
	} {
		for _, limit := range []int{1, 2, 5, 12, 13, 14, 0} {
			got := jobIDs(listAll(t, s, tenantA, runbooker.JobFilter{Status: tc.status, Limit: limit}))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("status %v, limit %d: got %v, want %v", tc.status, limit, got, tc.want)
			}
		}
		// With another filter and a time range.
		got := jobIDs(listAll(t, s, tenantA, runbooker.JobFilter{Status: tc.status, RunOn: group, CreatedBefore: at(50.5), Limit: 2}))
		var want []string
		for _, id := range tc.want {
			if j := getJob(t, s, tenantA, id); j.CreatedAt.Before(at(50.5)) {
				want = append(want, id)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("status %v before 50.5s: got %v, want %v", tc.status, got, want)
		}
	}
}

// Limit defaults to 100 and is capped at 1000.
func testJobListLimits(t *testing.T, s runbooker.Store) {
	for i := range 1001 {
		createJob(t, s, newJob(tenantA, group, at(float64(i%7))))
	}
	p, err := s.ListJobs(t.Context(), tenantA, runbooker.JobFilter{})
	ok(t, err, "ListJobs default limit")
	if len(p.Jobs) != 100 || p.Next == "" {
		t.Fatalf("default limit: %d jobs, next %q; want 100 and a cursor", len(p.Jobs), p.Next)
	}
	p, err = s.ListJobs(t.Context(), tenantA, runbooker.JobFilter{Limit: 5000})
	ok(t, err, "ListJobs big limit")
	if len(p.Jobs) != 1000 || p.Next == "" {
		t.Fatalf("limit 5000: %d jobs, next %q; want 1000 and a cursor", len(p.Jobs), p.Next)
	}
	p, err = s.ListJobs(t.Context(), tenantA, runbooker.JobFilter{Limit: 5000, Cursor: p.Next})
	ok(t, err, "ListJobs second page")
	if len(p.Jobs) != 1 || p.Next != "" {
		t.Fatalf("second page: %d jobs, next %q; want 1 and no cursor", len(p.Jobs), p.Next)
	}
}

// CreateJobs stores a whole batch, New and claimable oldest first, or, when
// any job of it is refused, none of it.
func testJobCreateMany(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	ok(t, s.CreateJobs(ctx, nil), "CreateJobs of nothing")
	batch := make([]*runbooker.Job, 300)
	for i := range batch {
		batch[i] = newJob(tenantA, group, at(float64(i)))
		batch[i].Parameters = map[string]any{"N": int64(i)}
		batch[i].LogVerbose = i%3 == 0
	}
	batch[7].ID = "" // filled in by the store
	ok(t, s.CreateJobs(ctx, batch), "CreateJobs")
	if batch[7].ID == "" {
		t.Fatal("CreateJobs left an empty id empty")
	}
	for i, j := range batch {
		got := getJob(t, s, tenantA, j.ID)
		if got.Status != runbooker.StatusNew || got.Attempt != 0 || got.WorkerID != "" {
			t.Fatalf("batch job %d: %s attempt %d worker %q; want New, 0, none", i, got.Status, got.Attempt, got.WorkerID)
		}
		sameParams(t, got.Parameters, map[string]any{"N": int64(i)}, fmt.Sprintf("batch job %d parameters", i))
		if got.LogVerbose != j.LogVerbose {
			t.Fatalf("batch job %d: LogVerbose %v, want %v", i, got.LogVerbose, j.LogVerbose)
		}
		wantTime(t, got.CreatedAt, at(float64(i)), "batch CreatedAt")
	}
	claimed, err := s.ClaimJobs(ctx, runbooker.ClaimParams{Group: group, WorkerID: worker1, Limit: 3, Now: at(400), LeaseUntil: at(430)})
	ok(t, err, "ClaimJobs after CreateJobs")
	if !slices.Equal(jobIDs(claimed), jobIDs(batch[:3])) {
		t.Fatalf("claim after a batch = %v, want the three oldest %v", jobIDs(claimed), jobIDs(batch[:3]))
	}
	for i, c := range claimed {
		if c.LogVerbose != batch[i].LogVerbose {
			t.Errorf("claimed job %d: LogVerbose %v, want %v (a worker needs it)", i, c.LogVerbose, batch[i].LogVerbose)
		}
	}

	// A duplicate id, of a stored job or inside the batch, refuses the batch.
	for name, dupOf := range map[string]func(b []*runbooker.Job) string{
		"stored":   func([]*runbooker.Job) string { return batch[0].ID },
		"in batch": func(b []*runbooker.Job) string { return b[0].ID },
	} {
		b := []*runbooker.Job{newJob(tenantA, group, at(500)), newJob(tenantA, group, at(501)), newJob(tenantA, group, at(502))}
		b[2].ID = dupOf(b)
		err := s.CreateJobs(ctx, b)
		wantCode(t, err, runbooker.ECONFLICT, "CreateJobs with a duplicate id ("+name+")")
		if msg := runbooker.ErrorMessage(err); !strings.Contains(msg, b[2].ID) {
			t.Errorf("duplicate id (%s): error %q does not name the id %s", name, msg, b[2].ID)
		}
		for _, j := range b[:2] {
			if _, err := s.Job(ctx, tenantA, j.ID); runbooker.ErrorCode(err) != runbooker.ENOTFOUND && j.ID != batch[0].ID {
				t.Fatalf("job %s of a refused batch (%s) was stored (err %v)", j.ID, name, err)
			}
		}
	}
	// An invalid job refuses the batch before anything is written, naming it.
	bad := []*runbooker.Job{newJob(tenantA, group, at(600)), newJob(tenantA, group, at(601))}
	bad[1].RunbookName = ""
	err = s.CreateJobs(ctx, bad)
	wantCode(t, err, runbooker.EINVALID, "CreateJobs with a job without a runbook")
	if msg := runbooker.ErrorMessage(err); !strings.Contains(msg, "job 1 of the batch") {
		t.Errorf("error %q does not name the refused job", msg)
	}
	direct := []*runbooker.Job{newJob(tenantA, group, at(700))}
	direct[0].WorkerID, direct[0].LeaseExpiresAt = worker1, at(730)
	wantCode(t, s.CreateJobs(ctx, direct), runbooker.EINVALID, "CreateJobs dispatching to a worker")
	for _, j := range append(bad, direct...) {
		if j.ID == "" {
			continue
		}
		if _, err := s.Job(ctx, tenantA, j.ID); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			t.Fatalf("job %s of a refused batch was stored (err %v)", j.ID, err)
		}
	}
}
