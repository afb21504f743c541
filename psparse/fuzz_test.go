package psparse

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbooker/runbooker"
)

// seeds adds the testdata runbooks and some fragments to a fuzz corpus.
func seeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ps1"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "param(", "'", "\"$(", "@'\n", "@\"\n$(\"@\n", "<#", "${", "[a[b[c", "$a[", "0x", "1e", "`",
		"param([Parameter(Mandatory)][ValidateScript({Use-RJInterface -Type Graph -MinValue -1})][string[]]$x = @('a'),$y=\"b\",\"c\")",
		"#Requires -Modules @{ModuleName='X';ModuleVersion='1'}, Y\n<#\n.INPUTS\nRunbookCustomization: {\n#>",
		"[CmdletBinding()]\nparam([ValidateRange([int]::MaxValue, 'Positive')]$a, [ValidateSet(@('x'))]$b)",
	} {
		f.Add([]byte(s))
	}
}

func FuzzTokenize(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		toks, err := Tokenize(src)
		if err != nil {
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Column < 1 {
				t.Fatalf("error %v is not a positioned *runbooker.ParseError", err)
			}
		}
		end := 0
		for _, tok := range toks {
			if tok.Offset < end || tok.End < tok.Offset || tok.End > len(src) || string(src[tok.Offset:tok.End]) != tok.Text {
				t.Fatalf("token %+v out of place (previous end %d)", tok, end)
			}
			if tok.Line < 1 || tok.Col < 1 {
				t.Fatalf("token %+v has no position", tok)
			}
			end = tok.End
		}
	})
}

func FuzzExtract(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		md, err := Extract(src)
		if err != nil {
			var pe *runbooker.ParseError
			if !errors.As(err, &pe) || pe.Source != "script" || pe.Line < 1 || pe.Column < 1 || md != nil {
				t.Fatalf("Extract = %v, %v: want nil and a positioned *runbooker.ParseError", md, err)
			}
			return
		}
		if md == nil || md.Parameters == nil {
			t.Fatal("no metadata without an error")
		}
		for _, p := range md.Parameters {
			if p.Name == "" {
				t.Fatalf("parameter without a name: %+v", p)
			}
		}
		if _, err := json.Marshal(md); err != nil {
			t.Fatalf("metadata does not encode: %v", err)
		}
	})
}
