package psparse

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkExtract measures a realistic 169-line RealmJoin-style runbook:
// help with customization JSON, three #Requires, nine parameters, a body
// with nested here-strings.
func BenchmarkExtract(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "user_general_offboard-contractor.ps1"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Extract(src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenize measures the tokenizer alone on the same runbook.
func BenchmarkTokenize(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "user_general_offboard-contractor.ps1"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Tokenize(src); err != nil {
			b.Fatal(err)
		}
	}
}
