package http

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/runbooker/runbooker"
)

// FuzzParseBatchJob: any bytes give an entry or an EINVALID error, never a
// panic; an accepted entry names a runbook and survives a round trip.
func FuzzParseBatchJob(f *testing.F) {
	for _, s := range []string{
		`{"runbook":"org_general_x","parameters":{"N":1},"runOn":"dc1"}`,
		`{"runbook":"x"}`, `{"runbook":""}`, `{"runbook":"x","parameter":{}}`, `{"runbook":"x"} {}`,
		`[]`, `null`, `{"runbook":1}`, `{"runbook":"x","parameters":{"a":1e400}}`, "{\"runbook\":\"\x00\"}", `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := ParseBatchJob(data)
		if err != nil {
			if runbooker.ErrorCode(err) != runbooker.EINVALID {
				t.Fatalf("error %v has code %q, want invalid", err, runbooker.ErrorCode(err))
			}
			return
		}
		if j.Runbook == "" || j.Parameters == nil {
			t.Fatalf("accepted %q as %+v", data, j)
		}
		again, err := json.Marshal(j)
		if err != nil {
			t.Fatalf("accepted entry does not marshal: %v", err)
		}
		j2, err := ParseBatchJob(again)
		if err != nil || j2.Runbook != j.Runbook || j2.RunOn != j.RunOn || len(j2.Parameters) != len(j.Parameters) {
			t.Fatalf("round trip of %s: %+v, %v", again, j2, err)
		}
		if !reflect.DeepEqual(normalize(t, j.Parameters), normalize(t, j2.Parameters)) {
			t.Fatalf("parameters changed in a round trip: %v vs %v", j.Parameters, j2.Parameters)
		}
	})
}

func normalize(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
