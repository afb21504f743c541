package loosejson

import (
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

func TestExtent(t *testing.T) {
	tests := []struct {
		name, in  string
		start     int
		want      string
		wantToEnd bool
	}{
		{"object", `x: {"a": [1, 2]} tail`, 2, `{"a": [1, 2]}`, false},
		{"leading blank lines", "\n\n  [1] tail", 0, "[1]", false},
		{"brackets in strings and comments", `{"a": "}", /* } */ "b": 1 // }` + "\n}", 0, `{"a": "}", /* } */ "b": 1 // }` + "\n}", true},
		{"never balanced", `{"a": [1`, 0, `{"a": [1`, true},
		{"not JSON", "hello\nworld", 0, "hello", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, end := Extent([]byte(tt.in), tt.start)
			if got := tt.in[from:end]; got != tt.want || tt.wantToEnd != (end == len(tt.in)) {
				t.Errorf("Extent = %q (end %d of %d), want %q", got, end, len(tt.in), tt.want)
			}
		})
	}
}

func TestEmbeddedTranslate(t *testing.T) {
	// Text starts on line 10 after 24 characters; its second line after 1.
	e := &Embedded{Text: []byte("{\n \"a\" 1}"), Line: 10, Cols: []int{24, 1}}
	_, err := Decode(e.Text)
	pe, ok := err.(*runbooker.ParseError)
	if !ok {
		t.Fatalf("want a ParseError, got %v", err)
	}
	e.Translate(pe)
	if pe.Line != 11 || pe.Column != 7 {
		t.Errorf("translated to %d:%d, want 11:7", pe.Line, pe.Column)
	}
	before := *pe
	e.Translate(&runbooker.ParseError{}) // no position: nothing to move
	if *pe != before {
		t.Errorf("changed: %+v", pe)
	}
}

func TestPosition(t *testing.T) {
	src := []byte("ab\nstraße x")
	if l, c := Position(src, 10); l != 2 || c != 7 {
		t.Errorf("Position = %d:%d, want 2:7 (columns count characters)", l, c)
	}
	if l, c := Position(src, 99); l != 2 || c != 9 {
		t.Errorf("Position past the end = %d:%d, want 2:9", l, c)
	}
}
