package pyparse

import (
	"errors"
	"testing"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// checkParseError fails unless err is nil or a positioned ParseError.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var pe *runbooker.ParseError
	if !errors.As(err, &pe) || pe.Line < 1 || pe.Column < 1 {
		t.Fatalf("error %v is not a positioned ParseError", err)
	}
}

// FuzzParsePython: the Python reader never panics and reports errors with
// positions.
func FuzzParsePython(f *testing.F) {
	for _, s := range []string{pySample, "'''x'''\ndef main(a: int = 1, *, b='x'): pass\n", "f'{a:{b}}' \"\"\"", "def main(\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		meta, err := Parse(src)
		checkParseError(t, err)
		if meta != nil && meta.Customization != nil {
			_, _ = loosejson.Decode(meta.Customization.Text)
		}
	})
}
