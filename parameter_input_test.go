package runbooker_test

import (
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

func TestValidParameterName(t *testing.T) {
	for name, want := range map[string]bool{
		"Name": true, "_x": true, "a1_B": true, strings.Repeat("a", 128): true,
		"": false, "A=B": false, "a\nb": false, "--z": false, "9a": false, "a-b": false, "é": false,
		strings.Repeat("a", 129): false, "a b": false,
	} {
		if got := runbooker.ValidParameterName(name); got != want {
			t.Errorf("ValidParameterName(%q) = %v", name, got)
		}
	}
}

func TestIdentifier(t *testing.T) {
	for s, want := range map[string]bool{
		"PATH": true, "_": true, "a9": true, strings.Repeat("a", 1000): true,
		"": false, "9a": false, "a-b": false, "a=b": false, "é": false, "a b": false,
	} {
		if got := runbooker.Identifier(s); got != want {
			t.Errorf("Identifier(%q) = %v", s, got)
		}
	}
}

func TestCheckParameterInput(t *testing.T) {
	if err := runbooker.CheckParameterInput(map[string]any{"A": "x", "B": []any{"y", map[string]any{"k": 1}}}, true); err != nil {
		t.Fatal(err)
	}
	for _, in := range []map[string]any{
		{"A=B": "1"},
		{"N": "a\x00"},
		{"N": []string{"ok", "\x00"}},
		{"N": map[string]any{"k\x00": "v"}},
	} {
		err := runbooker.CheckParameterInput(in, true)
		if runbooker.ErrorCode(err) != runbooker.EINVALID {
			t.Errorf("%q: %v", in, err)
		}
	}
	if err := runbooker.CheckParameterInput(map[string]any{"A=B": "1"}, false); err != nil {
		t.Errorf("names unchecked: %v", err)
	}
}
