package loosejson

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"plain", `{"a": 1, "b": [true, false, null], "c": "x"}`, map[string]any{"a": 1.0, "b": []any{true, false, nil}, "c": "x"}},
		{"line comment", "{\n// note\n\"a\": 1 // trailing\n}", map[string]any{"a": 1.0}},
		{"block comment", `{/* one */"a": /* two */ 1 /* three */}`, map[string]any{"a": 1.0}},
		{"comment markers in strings", `{"url": "https://x/*y*/", "c": "//"}`, map[string]any{"url": "https://x/*y*/", "c": "//"}},
		{"trailing comma object", `{"a": 1, "b": 2,}`, map[string]any{"a": 1.0, "b": 2.0}},
		{"trailing comma array", `[1, 2, ]`, []any{1.0, 2.0}},
		{"nested trailing commas", `{"P": {"X": {"Hide": true,},}, "L": [{"Name": "Y",},],}`, map[string]any{"P": map[string]any{"X": map[string]any{"Hide": true}}, "L": []any{map[string]any{"Name": "Y"}}}},
		{"duplicate key last wins", `{"a": 1, "a": 2}`, map[string]any{"a": 2.0}},
		{"escapes", `"a\"b\\c\/d\n\u00e4\ud83d\ude00"`, "a\"b\\c/d\nä😀"},
		{"lone surrogate", `"\ud800x"`, "\ufffdx"},
		{"numbers", `[0, -1, 1.5, 2e3, -0.5E-2]`, []any{0.0, -1.0, 1.5, 2000.0, -0.005}},
		{"bom", "\ufeff{}", map[string]any{}},
		{"empty containers", `{"a": [], "b": {}}`, map[string]any{"a": []any{}, "b": map[string]any{}}},
		{"tab in string", "\"a\tb\"", "a\tb"},
		{"only comments around", "// head\n 7 /* tail */", 7.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		line, col int
		msg       string
	}{
		{"empty", "", 1, 1, "empty document"},
		{"only comment", "// nothing", 1, 11, "empty document"},
		{"missing comma", "{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "expected ',' or '}'"},
		{"double comma", `[1,,2]`, 1, 4, "expected a value"},
		{"lone comma", `[,]`, 1, 2, "expected a value"},
		{"unquoted key", `{a: 1}`, 1, 2, "quoted member name"},
		{"missing colon", `{"a" 1}`, 1, 6, "expected ':'"},
		{"unterminated object", "{\"a\": 1,\n", 1, 1, "unterminated object"},
		{"unterminated array", "[1, 2", 1, 1, "unterminated array"},
		{"unterminated string", "{\"a\": \"xyz\n}", 1, 7, "unterminated string"},
		{"unterminated comment", "{} /* open", 1, 4, "unterminated /* comment"},
		{"bad word", `{"a": True}`, 1, 7, `unexpected word "True"`},
		{"leading zero", `[01]`, 1, 2, "malformed number"},
		{"bad exponent", `1e`, 1, 1, "exponent"},
		{"out of range", `1e999`, 1, 1, "out of range"},
		{"bad escape", `"\x"`, 1, 2, `unknown escape \x`},
		{"bad unicode escape", `"\u12g4"`, 1, 2, `malformed \u escape`},
		{"trailing garbage", `{} x`, 1, 4, "after the end"},
		{"column counts characters", "{\"straße\": 1 2}", 1, 14, "expected ',' or '}'"},
		{"single quotes", `{'a': 1}`, 1, 2, "quoted member name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Decode(%q) error = %v, want *runbooker.ParseError", tt.in, err)
			}
			if pe.Line != tt.line || pe.Column != tt.col || !strings.Contains(pe.Message, tt.msg) {
				t.Errorf("Decode(%q) = line %d col %d %q, want line %d col %d containing %q", tt.in, pe.Line, pe.Column, pe.Message, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	in := "{\n  // c\n  \"b\": [1, 2,],\n  \"a\": {\"x\": \"<&>\", \"x\": \"y\"},\n}"
	got, err := Normalize([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"b":[1,2],"a":{"x":"y"}}`; string(got) != want {
		t.Errorf("Normalize = %s, want %s", got, want)
	}
}

func TestDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, err := Decode([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("deep nesting: err = %v, want nesting error", err)
	}
}

// FuzzLooseJSON checks that the parser never panics, that it accepts every
// document encoding/json accepts with the same result, and that what it
// normalizes is strict JSON meaning the same thing.
func FuzzLooseJSON(f *testing.F) {
	for _, s := range []string{
		`{"a": 1, /* c */ "b": [true, null,], // x
		}`,
		`{"Parameters": {"UserName": {"Hide": true}}, "ParameterList": [{"Name": "X", "Select": {"Options": [{"Display": "a", "ParameterValue": false}]}}]}`,
		`"\ud83d\ude00\u0000"`, `[1e5, -0.0, 12.5e-3]`, `{"a":"b","a":"c"}`, "\ufeff[]", `/**/1//`, `[[[[]]]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got, err := Decode(src)
		var std any
		if json.Unmarshal(src, &std) == nil {
			if err != nil {
				t.Fatalf("encoding/json accepts %q, Decode fails: %v", src, err)
			}
			if !reflect.DeepEqual(got, std) {
				t.Fatalf("Decode(%q) = %#v, encoding/json gives %#v", src, got, std)
			}
		}
		if err != nil {
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Column < 1 {
				t.Fatalf("error %v lacks a position", err)
			}
			return
		}
		norm, err := Normalize(src)
		if err != nil {
			t.Fatalf("Normalize fails where Decode succeeded: %v", err)
		}
		var back any
		if err := json.Unmarshal(norm, &back); err != nil {
			t.Fatalf("normalized %q is not strict JSON: %v", norm, err)
		}
		if !reflect.DeepEqual(back, got) {
			t.Fatalf("normalized %q means %#v, original meant %#v", norm, back, got)
		}
	})
}
