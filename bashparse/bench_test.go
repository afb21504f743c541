package bashparse

import (
	"fmt"
	"strings"
	"testing"
)

// manyParams is a header of n @param lines, each with a continuation line.
func manyParams(n int) []byte {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n# Synopsis: Many parameters.\n")
	for i := range n {
		fmt.Fprintf(&b, "# @param P%d int default=%d range=0..1000000 - Parameter %d.\n#   More about it.\n", i, i, i)
	}
	b.WriteString("echo done\n")
	return []byte(b.String())
}

// BenchmarkParseParams parses headers of 100k and 200k @param lines: the
// time per line must not grow with the header, so the second takes about
// twice as long as the first (compare the ns/op of the two).
func BenchmarkParseParams(b *testing.B) {
	for _, n := range []int{100_000, 200_000} {
		src := manyParams(n)
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				meta, err := Parse(src)
				if err != nil || len(meta.Parameters) != n {
					b.Fatalf("%d parameters, %v", len(meta.Parameters), err)
				}
			}
		})
	}
}
