package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// RawExecer is what an engine offers the audit tamper test: one SQL
// statement run on its database past the store's API, as an intruder with
// database access would. Engines define it in an export_test.go file, so
// it exists only in their tests.
type RawExecer interface {
	ExecRaw(ctx context.Context, query string) error
}

// auditEntry returns the i-th test entry of tenant at time when.
func auditEntry(tenant string, i int, when time.Time) *runbooker.AuditEntry {
	actions := []string{"job.start", "job.stop", "signin.failure", "setting.put", "jobs.list"}
	return &runbooker.AuditEntry{
		TenantID: tenant, Time: when,
		Actor: fmt.Sprintf("user%d@example.com", i%3), ActorKind: runbooker.ActorPerson, Surface: "portal",
		Action: actions[i%len(actions)], Object: fmt.Sprintf("object-%d", i%4),
		Detail: json.RawMessage(fmt.Sprintf(`{ "i": %d,  "note": "entry \u00e9 %d" }`, i, i)),
		Source: "192.0.2.7",
	}
}

func appendAudit(t *testing.T, s runbooker.Store, e *runbooker.AuditEntry) *runbooker.AuditEntry {
	t.Helper()
	ok(t, s.AppendAudit(t.Context(), e), "AppendAudit")
	return e
}

// listAudit pages through a tenant's whole log, verifying the chain page
// by page as a reader with only one page at a time would.
func listAudit(t *testing.T, s runbooker.Store, tenant string, pageSize int) []*runbooker.AuditEntry {
	t.Helper()
	var all []*runbooker.AuditEntry
	var prev *runbooker.AuditEntry
	for {
		page, err := s.ListAudit(t.Context(), tenant, runbooker.AuditFilter{AfterSeq: lastSeq(prev), Limit: pageSize})
		ok(t, err, "ListAudit")
		if len(page) > pageSize {
			t.Fatalf("ListAudit returned %d entries, limit %d", len(page), pageSize)
		}
		if err := runbooker.VerifyAuditChain(prev, page); err != nil {
			t.Fatalf("VerifyAuditChain of the page after seq %d: %v", lastSeq(prev), err)
		}
		all = append(all, page...)
		if len(page) < pageSize {
			return all
		}
		prev = page[len(page)-1]
	}
}

func lastSeq(e *runbooker.AuditEntry) int64 {
	if e == nil {
		return 0
	}
	return e.Seq
}

func auditSeqs(es []*runbooker.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// Fifty appends make a chain 1…50 that verifies, whole and page by page;
// the store writes Seq, PrevHash, Hash, the truncated time and the
// compacted detail back, and returns entries exactly as appended.
func testAuditChain(t *testing.T, s runbooker.Store) {
	var appended []*runbooker.AuditEntry
	for i := range 50 {
		e := appendAudit(t, s, auditEntry(tenantA, i, at(float64(i))))
		if e.Seq != int64(i+1) || e.Hash == "" || e.Hash != e.ComputeHash() {
			t.Fatalf("append %d: seq %d hash %q (computed %q)", i, e.Seq, e.Hash, e.ComputeHash())
		}
		if i == 0 && e.PrevHash != "" {
			t.Fatalf("the first entry's PrevHash = %q, want empty", e.PrevHash)
		}
		if i > 0 && e.PrevHash != appended[i-1].Hash {
			t.Fatalf("entry %d: PrevHash %q, want the previous hash %q", e.Seq, e.PrevHash, appended[i-1].Hash)
		}
		appended = append(appended, e)
	}
	first := appended[0]
	wantTime(t, first.Time, t0.Truncate(time.Microsecond), "AppendAudit's Time (truncated to µs)")
	if string(first.Detail) != `{"i":0,"note":"entry \u00e9 0"}` {
		t.Errorf("AppendAudit's Detail = %s, want it compacted (escapes kept)", first.Detail)
	}
	all := listAudit(t, s, tenantA, 20)
	if want := seqRange(1, 50); !slices.Equal(auditSeqs(all), want) {
		t.Fatalf("ListAudit seqs = %v, want %v", auditSeqs(all), want)
	}
	if err := runbooker.VerifyAuditChain(nil, all); err != nil {
		t.Fatalf("VerifyAuditChain of all 50: %v", err)
	}
	for i, got := range all {
		want := appended[i]
		if !got.Time.Equal(want.Time) || got.Actor != want.Actor || got.ActorKind != want.ActorKind ||
			got.Surface != want.Surface || got.Action != want.Action || got.Object != want.Object ||
			string(got.Detail) != string(want.Detail) || got.Source != want.Source || got.PrevHash != want.PrevHash ||
			got.Hash != want.Hash || got.TenantID != tenantA {
			t.Fatalf("ListAudit entry %d = %+v, want %+v", got.Seq, got, want)
		}
	}
	bare := appendAudit(t, s, &runbooker.AuditEntry{TenantID: tenantA, Actor: "system", ActorKind: runbooker.ActorSystem,
		Surface: "server", Action: "server.start"})
	if bare.Seq != 51 || bare.Time.IsZero() || bare.Detail != nil {
		t.Errorf("entry without time or detail: seq %d, time %v, detail %q", bare.Seq, bare.Time, bare.Detail)
	}
	got, err := s.ListAudit(t.Context(), tenantA, runbooker.AuditFilter{AfterSeq: 50})
	ok(t, err, "ListAudit after 50")
	if len(got) != 1 || got[0].Detail != nil || got[0].Hash != bare.Hash {
		t.Errorf("ListAudit after 50 = %+v, want the bare entry", got)
	}
	wantCode(t, s.AppendAudit(t.Context(), &runbooker.AuditEntry{TenantID: tenantA, Actor: "x", ActorKind: runbooker.ActorSystem,
		Action: "x", Detail: json.RawMessage(`{not json`)}), runbooker.EINVALID, "AppendAudit with a detail that is not JSON")
	wantCode(t, s.AppendAudit(t.Context(), &runbooker.AuditEntry{TenantID: tenantA, Actor: "x", ActorKind: "alien", Action: "x"}),
		runbooker.EINVALID, "AppendAudit with an unknown actor kind")
}

// Appends from 8 goroutines at once make one chain without gaps or forks.
func testAuditConcurrent(t *testing.T, s runbooker.Store) {
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e := auditEntry(tenantA, g*each+i, at(float64(i)))
				e.Actor = fmt.Sprintf("worker w%d", g)
				e.ActorKind = runbooker.ActorWorker
				if err := s.AppendAudit(t.Context(), e); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent AppendAudit: %v", err)
	}
	all := listAudit(t, s, tenantA, 1000)
	if want := seqRange(1, goroutines*each); !slices.Equal(auditSeqs(all), want) {
		t.Fatalf("seqs after concurrent appends = %v, want 1…%d", auditSeqs(all), goroutines*each)
	}
	if err := runbooker.VerifyAuditChain(nil, all); err != nil {
		t.Fatalf("VerifyAuditChain after concurrent appends: %v", err)
	}
}

// Filters: action prefix, exact actor and object, Since inclusive and
// Until exclusive, the cursor, the default and maximum limits; each
// tenant has a chain of its own.
func testAuditFilters(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	const n = 110
	for i := range n {
		appendAudit(t, s, auditEntry(tenantA, i, at(float64(i))))
	}
	b1 := appendAudit(t, s, auditEntry(tenantB, 0, at(0)))
	if b1.Seq != 1 || b1.PrevHash != "" {
		t.Fatalf("tenant B's first entry: seq %d prevHash %q; want its own chain from 1", b1.Seq, b1.PrevHash)
	}
	list := func(f runbooker.AuditFilter) []*runbooker.AuditEntry {
		t.Helper()
		es, err := s.ListAudit(ctx, tenantA, f)
		ok(t, err, "ListAudit")
		return es
	}
	want := func(pred func(i int, e *runbooker.AuditEntry) bool) []int64 {
		var out []int64
		for i := range n {
			if pred(i, auditEntry(tenantA, i, at(float64(i)))) {
				out = append(out, int64(i+1))
			}
		}
		return out
	}
	check := func(what string, f runbooker.AuditFilter, pred func(i int, e *runbooker.AuditEntry) bool) {
		t.Helper()
		f.Limit = 1000
		if got, w := auditSeqs(list(f)), want(pred); !slices.Equal(got, w) {
			t.Errorf("ListAudit %s = %v, want %v", what, got, w)
		}
	}
	check("action prefix job.", runbooker.AuditFilter{Action: "job."}, func(_ int, e *runbooker.AuditEntry) bool {
		return e.Action == "job.start" || e.Action == "job.stop"
	})
	check("action job.stop", runbooker.AuditFilter{Action: "job.stop"}, func(_ int, e *runbooker.AuditEntry) bool {
		return e.Action == "job.stop"
	})
	check("action prefix with LIKE characters", runbooker.AuditFilter{Action: "job%"}, func(int, *runbooker.AuditEntry) bool { return false })
	check("actor", runbooker.AuditFilter{Actor: "user1@example.com"}, func(_ int, e *runbooker.AuditEntry) bool {
		return e.Actor == "user1@example.com"
	})
	check("object and action", runbooker.AuditFilter{Object: "object-2", Action: "job"}, func(_ int, e *runbooker.AuditEntry) bool {
		return e.Object == "object-2" && (e.Action == "job.start" || e.Action == "job.stop" || e.Action == "jobs.list")
	})
	check("since and until", runbooker.AuditFilter{Since: at(9.5), Until: at(19.5)}, func(i int, _ *runbooker.AuditEntry) bool {
		return i >= 10 && i < 20
	})
	check("since and until at entries' own times", runbooker.AuditFilter{Since: at(10).Truncate(time.Microsecond),
		Until: at(20).Truncate(time.Microsecond)}, func(i int, _ *runbooker.AuditEntry) bool { return i >= 10 && i < 20 })
	far := time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)
	check("since far in the future", runbooker.AuditFilter{Since: far}, func(int, *runbooker.AuditEntry) bool { return false })
	check("until far in the future", runbooker.AuditFilter{Until: far}, func(int, *runbooker.AuditEntry) bool { return true })
	check("after seq 100", runbooker.AuditFilter{AfterSeq: 100}, func(i int, _ *runbooker.AuditEntry) bool { return i >= 100 })

	if got := list(runbooker.AuditFilter{}); !slices.Equal(auditSeqs(got), seqRange(1, 100)) {
		t.Errorf("ListAudit without a limit returned seqs %v, want 1…100", auditSeqs(got))
	}
	if got := list(runbooker.AuditFilter{Limit: 5, AfterSeq: 7}); !slices.Equal(auditSeqs(got), seqRange(8, 12)) {
		t.Errorf("ListAudit limit 5 after 7 = %v, want 8…12", auditSeqs(got))
	}
	if got := list(runbooker.AuditFilter{Limit: 1 << 30}); len(got) != n {
		t.Errorf("ListAudit with a huge limit returned %d, want all %d (capped at 1000)", len(got), n)
	}
	bs, err := s.ListAudit(ctx, tenantB, runbooker.AuditFilter{})
	ok(t, err, "ListAudit B")
	if len(bs) != 1 || bs[0].Hash != b1.Hash {
		t.Errorf("ListAudit(B) = %d entries, want only B's one", len(bs))
	}
	none, err := s.ListAudit(ctx, "tenant-none", runbooker.AuditFilter{})
	ok(t, err, "ListAudit of a tenant without a log")
	if len(none) != 0 {
		t.Errorf("ListAudit(tenant-none) = %v", none)
	}
}

// An entry changed or removed in the database behind the store's back is
// found: VerifyAuditChain names the first entry that does not fit.
func testAuditTamper(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	raw, isRaw := s.(RawExecer)
	if !isRaw {
		t.Fatalf("the engine's test store (%T) has no ExecRaw: add it in an export_test.go", s)
	}
	for _, tenant := range []string{tenantA, tenantB, "tenant-c"} {
		for i := range 10 {
			appendAudit(t, s, auditEntry(tenant, i, at(float64(i))))
		}
	}
	brokenAt := func(tenant string) (int64, string) {
		t.Helper()
		es, err := s.ListAudit(ctx, tenant, runbooker.AuditFilter{})
		ok(t, err, "ListAudit")
		err = runbooker.VerifyAuditChain(nil, es)
		var ce *runbooker.AuditChainError
		if !errors.As(err, &ce) {
			t.Fatalf("VerifyAuditChain of tampered tenant %s = %v, want an *AuditChainError", tenant, err)
		}
		return ce.Seq, ce.Error()
	}

	// A changed detail: that entry's hash no longer fits.
	ok(t, raw.ExecRaw(ctx, `UPDATE audit_log SET detail = '{"i":4,"note":"nothing to see"}' WHERE tenant_id = 'tenant-a' AND seq = 4`), "tamper detail")
	if seq, msg := brokenAt(tenantA); seq != 4 {
		t.Errorf("changed detail of seq 4: broken at %d (%s)", seq, msg)
	}
	// A changed actor whose hash the intruder recomputed: the next entry's
	// PrevHash no longer fits.
	es, err := s.ListAudit(ctx, "tenant-c", runbooker.AuditFilter{})
	ok(t, err, "ListAudit tenant-c")
	forged := *es[6]
	forged.Actor = "someone-else@example.com"
	ok(t, raw.ExecRaw(ctx, fmt.Sprintf(`UPDATE audit_log SET actor = '%s', hash = '%s' WHERE tenant_id = 'tenant-c' AND seq = 7`,
		forged.Actor, forged.ComputeHash())), "tamper actor and hash")
	if seq, msg := brokenAt("tenant-c"); seq != 8 {
		t.Errorf("forged actor of seq 7 with its hash recomputed: broken at %d (%s), want 8", seq, msg)
	}
	// A removed entry: a gap.
	ok(t, raw.ExecRaw(ctx, `DELETE FROM audit_log WHERE tenant_id = 'tenant-b' AND seq = 3`), "remove an entry")
	if seq, msg := brokenAt(tenantB); seq != 4 {
		t.Errorf("removed seq 3: broken at %d (%s), want 4", seq, msg)
	}
}

// AuditFromTwoStores appends to one tenant's log from 8 goroutines through
// two stores opened on the same database (as two servers, or two processes
// on one SQLite file, would), then checks that the log is one chain
// without gaps or forks.
func AuditFromTwoStores(t *testing.T, a, b runbooker.Store) {
	t.Helper()
	ctx := context.Background()
	stores := [2]runbooker.Store{a, b}
	const perGoroutine = 30
	var wg sync.WaitGroup
	errs := make(chan error, 8*perGoroutine)
	for g := range 8 {
		st := stores[g%2]
		wg.Go(func() {
			for i := range perGoroutine {
				err := st.AppendAudit(ctx, &runbooker.AuditEntry{TenantID: "default", Actor: fmt.Sprintf("store %d", g%2),
					ActorKind: runbooker.ActorSystem, Surface: "server", Action: "test.append", Object: fmt.Sprint(g, "/", i)})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AppendAudit: %v", err)
	}
	es, err := a.ListAudit(ctx, "default", runbooker.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 8*perGoroutine {
		t.Fatalf("%d entries, want %d", len(es), 8*perGoroutine)
	}
	if err := runbooker.VerifyAuditChain(nil, es); err != nil {
		t.Fatal(err)
	}
}
