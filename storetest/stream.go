package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/runbooker/runbooker"
)

// Records come back exactly as written, in Seq order whatever order they
// were sent in, never grouped by type.
func testStreamsAppendRead(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	c := runningJob(t, s, tenantA, at(0))
	if got := streams(t, s, tenantA, c.ID, runbooker.StreamFilter{}); len(got) != 0 {
		t.Fatalf("Streams of a job without records = %d records", len(got))
	}
	want := []runbooker.StreamRecord{
		{Seq: 1, Time: at(1), Type: runbooker.StreamVerbose, Text: "connecting"},
		{Seq: 2, Time: at(1.5), Type: runbooker.StreamOutput, Text: "", Value: json.RawMessage(`{"id":7,"name":"Ada","tags":["x"]}`)},
		{Seq: 3, Time: at(2), Type: runbooker.StreamWarning, Text: "ünïcödé ✓ and a\ttab"},
		{Seq: 4, Time: at(0.5), Type: runbooker.StreamOutput, Text: "a clock that went back"}, // order is Seq, not Time
		{Seq: 5, Time: at(3), Type: runbooker.StreamError, Text: "boom"},
		{Seq: 6, Time: at(3), Type: runbooker.StreamDebug, Text: "d"},
		{Seq: 7, Time: at(3), Type: runbooker.StreamProgress, Text: "50%"},
		{Seq: 8, Time: at(4), Type: runbooker.StreamInformation, Text: "info", Value: json.RawMessage(`"a string value"`)},
	}
	// Sent out of order, in two calls.
	ok(t, s.AppendStreams(ctx, ref(c), []runbooker.StreamRecord{want[4], want[2], want[3]}), "AppendStreams")
	ok(t, s.AppendStreams(ctx, ref(c), []runbooker.StreamRecord{want[7], want[0], want[6], want[1], want[5]}), "AppendStreams")
	got := streams(t, s, tenantA, c.ID, runbooker.StreamFilter{})
	if len(got) != len(want) {
		t.Fatalf("Streams returned %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Type != w.Type || g.Text != w.Text || !sameValue(g.Value, w.Value) || !g.Time.Equal(w.Time) {
			t.Errorf("record %d = %+v (value %s), want %+v (value %s)", i, g, g.Value, w, w.Value)
		}
	}
	ok(t, s.AppendStreams(ctx, ref(c), nil), "AppendStreams with no records")
}

// Re-sent records are ignored: the first record stored under a Seq stays.
func testStreamsIdempotent(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	c := runningJob(t, s, tenantA, at(0))
	ok(t, s.AppendStreams(ctx, ref(c), records(1, 10, at(1))), "AppendStreams 1..10")
	ok(t, s.AppendStreams(ctx, ref(c), records(1, 10, at(1))), "AppendStreams 1..10 again")
	retry := records(6, 10, at(2)) // 6..15, overlapping
	retry[0].Text = "a different text under an existing seq"
	ok(t, s.AppendStreams(ctx, ref(c), retry), "AppendStreams 6..15")
	dup := records(16, 2, at(3))
	dup = append(dup, dup...) // the same seq twice in one batch
	ok(t, s.AppendStreams(ctx, ref(c), dup), "AppendStreams with duplicates inside the batch")
	got := streams(t, s, tenantA, c.ID, runbooker.StreamFilter{})
	wantSeqs(t, got, seqRange(1, 17), "after retries")
	if got[5].Text != "line 6" {
		t.Fatalf("record 6 = %q, want the first text stored", got[5].Text)
	}
}

// AppendStreams is fenced: only the attempt that holds the job may write.
func testStreamsFenced(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	c := runningJob(t, s, tenantA, at(0))
	ok(t, s.AppendStreams(ctx, ref(c), records(1, 2, at(1))), "AppendStreams")
	wantCode(t, s.AppendStreams(ctx, runbooker.JobRef{ID: c.ID, Attempt: c.Attempt + 1}, records(3, 1, at(1))),
		runbooker.ECONFLICT, "AppendStreams with a future attempt")
	wantCode(t, s.AppendStreams(ctx, runbooker.JobRef{ID: c.ID, Attempt: 0}, records(3, 1, at(1))),
		runbooker.ECONFLICT, "AppendStreams with attempt 0")
	wantCode(t, s.AppendStreams(ctx, runbooker.JobRef{ID: runbooker.NewUUID(), Attempt: 1}, records(1, 1, at(1))),
		runbooker.ENOTFOUND, "AppendStreams unknown job")

	// Lost lease: the job is New again with the same attempt number, and the
	// late worker must not write into it.
	_, err := s.RescueJobs(ctx, runbooker.RescueParams{Now: at(60), MaxAttempts: 3})
	ok(t, err, "RescueJobs")
	wantCode(t, s.AppendStreams(ctx, ref(c), records(3, 1, at(61))), runbooker.ECONFLICT, "AppendStreams of a re-queued attempt")
	c2 := claimOne(t, s, tenantA, worker2, at(62), at(92))
	wantCode(t, s.AppendStreams(ctx, ref(c), records(4, 1, at(62))), runbooker.ECONFLICT, "AppendStreams of a stale attempt")
	ok(t, s.AppendStreams(ctx, ref(c2), records(c2.NextSeq, 1, at(63))), "AppendStreams of the new attempt")

	// Records go before the finish: a finished attempt accepts no more.
	if _, err := finish(s, t, ref(c2), runbooker.StatusCompleted, "", 64); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.AppendStreams(ctx, ref(c2), records(c2.NextSeq+1, 1, at(65))), runbooker.ECONFLICT, "AppendStreams after finish")
	wantSeqs(t, streams(t, s, tenantA, c.ID, runbooker.StreamFilter{}), []int64{1, 2, 3, 4}, "records after fencing")
}

func testStreamsFilter(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	c := runningJob(t, s, tenantA, at(0))
	types := []runbooker.StreamType{runbooker.StreamOutput, runbooker.StreamVerbose, runbooker.StreamOutput,
		runbooker.StreamError, runbooker.StreamWarning}
	recs := make([]runbooker.StreamRecord, 20)
	for i := range recs {
		recs[i] = runbooker.StreamRecord{Seq: int64(i + 1), Time: at(1), Type: types[i%len(types)], Text: fmt.Sprint(i + 1)}
	}
	ok(t, s.AppendStreams(ctx, ref(c), recs), "AppendStreams")
	out, verb, errs := runbooker.StreamOutput, runbooker.StreamVerbose, runbooker.StreamError
	for _, tc := range []struct {
		f    runbooker.StreamFilter
		want []int64
	}{
		{runbooker.StreamFilter{}, seqRange(1, 20)},
		{runbooker.StreamFilter{After: 17}, []int64{18, 19, 20}},
		{runbooker.StreamFilter{After: 20}, nil},
		{runbooker.StreamFilter{Limit: 3}, []int64{1, 2, 3}},
		{runbooker.StreamFilter{After: 5, Limit: 2}, []int64{6, 7}},
		{runbooker.StreamFilter{Types: []runbooker.StreamType{out}}, []int64{1, 3, 6, 8, 11, 13, 16, 18}},
		{runbooker.StreamFilter{Types: []runbooker.StreamType{verb, errs}}, []int64{2, 4, 7, 9, 12, 14, 17, 19}},
		{runbooker.StreamFilter{Types: []runbooker.StreamType{out}, After: 6, Limit: 3}, []int64{8, 11, 13}},
		{runbooker.StreamFilter{Types: []runbooker.StreamType{runbooker.StreamDebug}}, nil},
	} {
		wantSeqs(t, streams(t, s, tenantA, c.ID, tc.f), tc.want, fmt.Sprintf("filter %+v", tc.f))
	}
	_, err := s.Streams(ctx, tenantB, c.ID, runbooker.StreamFilter{})
	wantCode(t, err, runbooker.ENOTFOUND, "Streams of another tenant's job")
	_, err = s.Streams(ctx, tenantA, runbooker.NewUUID(), runbooker.StreamFilter{})
	wantCode(t, err, runbooker.ENOTFOUND, "Streams of an unknown job")
}

// Big batches, as a chatty runbook's worker sends them, in one call each,
// with retries that overlap what is stored.
func testStreamsLargeBatch(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	c := runningJob(t, s, tenantA, at(0))
	ok(t, s.AppendStreams(ctx, ref(c), records(1, 5000, at(1))), "AppendStreams 5000")
	ok(t, s.AppendStreams(ctx, ref(c), records(4001, 3333, at(2))), "AppendStreams overlapping 4001..7333")
	got := streams(t, s, tenantA, c.ID, runbooker.StreamFilter{})
	wantSeqs(t, got, seqRange(1, 7333), "large batches")
	if got[6999].Text != "line 7000" {
		t.Fatalf("record 7000 = %q", got[6999].Text)
	}
	tail := streams(t, s, tenantA, c.ID, runbooker.StreamFilter{After: 7330})
	wantSeqs(t, tail, []int64{7331, 7332, 7333}, "tail")
}

// sameValue compares record values as JSON documents: an engine may store
// them in a JSON type that normalises spacing. No value must stay no value.
func sameValue(got, want json.RawMessage) bool {
	if len(got) == 0 || len(want) == 0 {
		return len(got) == len(want)
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		return false
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return string(gb) == string(wb)
}

// TenantOutputBytes counts the bytes (not characters) of the text and
// values of every record of the tenant's jobs, and nothing of another
// tenant's.
func testTenantOutputBytes(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	n, err := s.TenantOutputBytes(ctx, tenantA)
	ok(t, err, "TenantOutputBytes")
	if n != 0 {
		t.Fatalf("TenantOutputBytes of a tenant without records = %d", n)
	}
	a := runningJob(t, s, tenantA, at(0))
	b := runningJob(t, s, tenantB, at(0))
	ok(t, s.AppendStreams(ctx, ref(a), []runbooker.StreamRecord{
		{Seq: 1, Time: at(1), Type: runbooker.StreamOutput, Text: "ünï"}, // 5 bytes
		{Seq: 2, Time: at(1), Type: runbooker.StreamOutput, Text: "", Value: json.RawMessage(`{"a":1}`)},
	}), "AppendStreams")
	ok(t, s.AppendStreams(ctx, ref(b), records(1, 3, at(1))), "AppendStreams")
	n, err = s.TenantOutputBytes(ctx, tenantA)
	ok(t, err, "TenantOutputBytes")
	if n != 5+7 {
		t.Errorf("TenantOutputBytes = %d, want 12", n)
	}
}
