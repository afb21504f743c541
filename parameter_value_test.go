package runbooker

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// Bound values come back from their encoding with the same types; values
// of other Go types take the form of their JSON text.
func TestParameterValuesSurviveTheirEncoding(t *testing.T) {
	bound, err := BindParameters(testParams, map[string]any{"UserName": "ada", "Count": 3, "Ratio": 2,
		"Enabled": "yes", "When": "2026-11-25", "Tags": []any{"a"},
		"Extra": map[string]any{"n": 1.0, "big": json.Number("9007199254740993"), "list": []any{"x", "y"}, "mixed": []any{"x", 1}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"UserName": "ada", "Count": int64(3), "Ratio": float64(2), "Enabled": true,
		"When": "2026-11-25T00:00:00Z", "Tags": []string{"a"}, "Size": "Small",
		"Extra": map[string]any{"n": 1.0, "big": int64(9007199254740993), "list": []string{"x", "y"}, "mixed": []any{"x", int64(1)}}}
	if bound["Size"] == nil {
		delete(want, "Size") // not mandatory: its default stays the script's
	}
	if !reflect.DeepEqual(bound, want) {
		t.Fatalf("bound %#v\nwant  %#v", bound, want)
	}
	data, err := EncodeParameters(bound)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeParameters(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, bound) {
		t.Errorf("decoded %#v\nwant    %#v\nfrom %s", got, bound, data)
	}
	// Still plain JSON to anyone else, numbers included.
	var plain map[string]any
	if err := json.Unmarshal(data, &plain); err != nil || plain["Ratio"] != 2.0 || plain["Count"] != 3.0 {
		t.Errorf("plain JSON reading: %v %#v", err, plain)
	}

	for _, c := range []struct {
		in, want any
	}{
		{int(5), int64(5)},
		{uint8(5), int64(5)},
		{float32(0.5), 0.5},
		{1e21, 1e21},
		{1e-7, 1e-7},
		{-0.0, 0.0},
		{uint64(math.MaxUint64), float64(math.MaxUint64)},
		{json.Number("2.50"), 2.5},
		{json.RawMessage(`{"a":[1,2.5]}`), map[string]any{"a": []any{int64(1), 2.5}}},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05Z"},
		{[]any{}, []string{}},
		{[]string(nil), nil},
		{"bad \xff", "bad \ufffd"},
	} {
		v := ParameterValue(c.in)
		if !reflect.DeepEqual(v, c.want) {
			t.Errorf("ParameterValue(%#v) = %#v, want %#v", c.in, v, c.want)
		}
		data, err := EncodeParameters(map[string]any{"v": c.in})
		if err != nil {
			t.Errorf("encode %#v: %v", c.in, err)
			continue
		}
		if got, err := DecodeParameters(data); err != nil || !reflect.DeepEqual(got["v"], c.want) {
			t.Errorf("round trip of %#v = %#v (%v) from %s, want %#v", c.in, got["v"], err, data, c.want)
		}
	}
	if _, err := EncodeParameters(map[string]any{"v": math.Inf(1)}); err == nil {
		t.Error("an infinite float was encoded")
	}
	if p, err := DecodeParameters([]byte("null")); err != nil || p != nil {
		t.Errorf("null = %#v, %v", p, err)
	}
	if _, err := DecodeParameters([]byte("[1]")); err == nil {
		t.Error("an array was taken for parameters")
	}
}

// An Assignment crosses the worker protocol with its parameters' types, in
// the JSON shape older workers and servers read and write.
func TestAssignmentWire(t *testing.T) {
	as := Assignment{Job: &Job{ID: "j1", Attempt: 2, Parameters: map[string]any{"N": int64(7), "R": 2.0, "L": []string{"a"}}},
		Script: []byte("echo\n"), Group: &WorkerGroup{Name: "g", RunAs: "nobody"}}
	data, err := json.Marshal(as)
	if err != nil {
		t.Fatal(err)
	}
	var back Assignment
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, as) {
		t.Errorf("round trip %#v, want %#v", back, as)
	}

	// The shape Assignment had as agent.Assignment, before it moved.
	type oldAssignment struct {
		Job    *Job         `json:"job"`
		Script []byte       `json:"script"`
		Group  *WorkerGroup `json:"group,omitempty"`
	}
	var old oldAssignment
	if err := json.Unmarshal(data, &old); err != nil {
		t.Fatal(err)
	}
	oldData, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal(data, &a)
	_ = json.Unmarshal(oldData, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("new shape %s\nold shape %s", data, oldData)
	}
	var fromOld Assignment
	if err := json.Unmarshal(oldData, &fromOld); err != nil {
		t.Fatal(err)
	}
	if fromOld.Parameters["N"] != int64(7) || fromOld.Group.RunAs != "nobody" || string(fromOld.Script) != "echo\n" {
		t.Errorf("read from the old shape: %#v", fromOld)
	}
	for _, s := range []string{`{"job":null,"script":null}`, `{"job":{"id":"x"}}`} {
		var x Assignment
		if err := json.Unmarshal([]byte(s), &x); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}
