package storeutil

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// row is a Scanner over fixed values, assigned as both drivers do for the
// destination types the Scan functions use (a nil value into a **int64 is
// NULL).
type row []any

func (r row) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return errors.New("column count differs")
	}
	for i, d := range dest {
		v := reflect.ValueOf(d).Elem()
		if r[i] == nil {
			v.SetZero()
			continue
		}
		src := reflect.ValueOf(r[i])
		if v.Kind() == reflect.Pointer {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(src.Convert(v.Type().Elem()))
			v.Set(p)
			continue
		}
		v.Set(src.Convert(v.Type()))
	}
	return nil
}

// Each Scan function reads as many columns as its column list names.
func TestScanFunctionsMatchTheirColumnLists(t *testing.T) {
	count := func(cols string) int { return len(strings.Split(cols, ",")) }
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	ns := at.UnixNano()

	st, err := ScanRunbook(row{"t", "rb", "bash", "v1", "s", "c", "g", "src", `{"synopsis":"x"}`, ns, ns + 1, true})
	if err != nil || count(RunbookColumns) != 12 || st.Runbook.Name != "rb" || st.Runbook.Language != runbooker.LangBash ||
		!st.Runbook.CreatedAt.Equal(at) || st.Runbook.UpdatedAt.Sub(at) != 1 || st.Meta != `{"synopsis":"x"}` || !st.Runbook.LogVerbose {
		t.Errorf("ScanRunbook = %+v, %v", st, err)
	}
	if _, err := ScanRunbook(row{"t", "rb", "bash", "v1", "", "", "", "", `{`, ns, ns, false}); err == nil {
		t.Error("ScanRunbook took metadata that is not JSON")
	}
	c, err := ScanCredential(row{"id", "t", "n", "admin", "hash", ns, "ada@example.com"})
	if err != nil || count(CredentialColumns) != 7 || c.Role != runbooker.RoleAdmin || !c.CreatedAt.Equal(at) || c.User != "ada@example.com" {
		t.Errorf("ScanCredential = %+v, %v", c, err)
	}
	for _, expires := range []any{nil, ns} {
		g, err := ScanGroup(row{"t", "g", "h", true, "ops", int64(time.Hour), 3, "pwsh", int64(time.Minute), ns, int64(1 << 30), 10, 50, expires, 5, 2})
		if err != nil || count(GroupColumns) != 16 || g.MaxRuntime != time.Hour || g.SuspendAfter != time.Minute || !g.CreatedAt.Equal(at) || g.CPUWeight != 50 ||
			g.TokenExpiresAt.IsZero() != (expires == nil) || g.TokenMaxUses != 5 || g.TokenUses != 2 {
			t.Errorf("ScanGroup (token expires %v) = %+v, %v", expires, g, err)
		}
	}
	for _, seen := range []any{nil, ns} {
		w, err := ScanWorker(row{"w", "t", "g", "n", "h", "1", "linux", "amd64", "host", ns, seen, "draining", "bash,python"})
		if err != nil || count(WorkerColumns) != 13 || !w.RegisteredAt.Equal(at) || w.LastSeenAt.IsZero() != (seen == nil) ||
			w.State != runbooker.WorkerDraining || len(w.Languages) != 2 || w.Languages[1] != runbooker.LangPython {
			t.Errorf("ScanWorker (last seen %v) = %+v, %v", seen, w, err)
		}
	}
	for _, v := range [][]byte{nil, {}, []byte("x")} {
		a, err := ScanAsset(row{"t", "variable", "n", "d", false, "", v, ns})
		if err != nil || count(AssetColumns) != 8 || a.Type != runbooker.AssetVariable || (a.Value == nil) != (len(v) == 0) {
			t.Errorf("ScanAsset(%q) = %+v, %v", v, a, err)
		}
	}
}

func TestUnchangedComparesEveryStoredField(t *testing.T) {
	base := runbooker.Runbook{Language: runbooker.LangBash, Version: "v", Scope: "s", Category: "c", DefaultGroup: "g", SourceID: "src"}
	old := StoredRunbook{Runbook: &base, Meta: "{}"}
	same := base
	same.UpdatedAt = time.Now() // times are not compared
	if !old.Unchanged(&same, "{}") {
		t.Error("an identical runbook counts as changed")
	}
	if old.Unchanged(&same, `{"a":1}`) {
		t.Error("changed metadata counts as unchanged")
	}
	for _, change := range []func(*runbooker.Runbook){
		func(r *runbooker.Runbook) { r.Language = runbooker.LangPython },
		func(r *runbooker.Runbook) { r.Version = "w" },
		func(r *runbooker.Runbook) { r.Scope = "x" },
		func(r *runbooker.Runbook) { r.Category = "x" },
		func(r *runbooker.Runbook) { r.DefaultGroup = "x" },
		func(r *runbooker.Runbook) { r.SourceID = "x" },
		func(r *runbooker.Runbook) { r.LogVerbose = true },
	} {
		rb := base
		change(&rb)
		if old.Unchanged(&rb, "{}") {
			t.Errorf("change to %+v counts as unchanged", rb)
		}
	}
}

func TestCheckRecords(t *testing.T) {
	ref := runbooker.JobRef{ID: "j", Attempt: 1}
	good := runbooker.StreamRecord{Seq: 1, Type: runbooker.StreamOutput, Text: "x", Value: json.RawMessage(`{"a":1}`)}
	if err := CheckRecords(ref, []runbooker.StreamRecord{good, {Seq: 2, Type: runbooker.StreamError}}); err != nil {
		t.Errorf("good records: %v", err)
	}
	for name, bad := range map[string]runbooker.StreamRecord{
		"sequence number 0":   {Seq: 0, Type: runbooker.StreamOutput},
		"unknown stream type": {Seq: 1, Type: "Bogus"},
		"value is not JSON":   {Seq: 1, Type: runbooker.StreamOutput, Value: json.RawMessage(`{`)},
	} {
		err := CheckRecords(ref, []runbooker.StreamRecord{good, bad})
		if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(err.Error(), "record 1: "+name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFencedSaysWhyTheAttemptLostTheJob(t *testing.T) {
	ref := runbooker.JobRef{ID: "j", Attempt: 1}
	if err := Fenced(ref, runbooker.StatusActivating, 2); runbooker.ErrorCode(err) != runbooker.ECONFLICT || !strings.Contains(err.Error(), "stale (current attempt 2") {
		t.Errorf("newer attempt: %v", err)
	}
	if err := Fenced(ref, runbooker.StatusCompleted, 1); runbooker.ErrorCode(err) != runbooker.ECONFLICT || !strings.Contains(err.Error(), "no longer holds the job (it is Completed)") {
		t.Errorf("ended attempt: %v", err)
	}
}
