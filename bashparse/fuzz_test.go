package bashparse

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

// FuzzParseBash: the Bash header reader never panics.
func FuzzParseBash(f *testing.F) {
	for _, s := range []string{bashSample, "# @param A int default=\"1\n", "# RunbookCustomization: {\n# \"a\": [\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		meta, err := Parse(src)
		checkParseError(t, err)
		if meta.Customization != nil {
			if _, err := loosejson.Decode(meta.Customization.Text); err != nil {
				var pe *runbooker.ParseError
				errors.As(err, &pe)
				meta.Customization.Translate(pe)
			}
		}
	})
}
