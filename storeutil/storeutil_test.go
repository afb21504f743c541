package storeutil

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestCursorRoundTripAndRejects(t *testing.T) {
	for _, c := range [][2]int64{{0, 0}, {1732524000123456789, 42}, {-5, 7}} {
		at, pk, ok := ParseCursor(FormatCursor(c[0], c[1]))
		if !ok || at != c[0] || pk != c[1] {
			t.Errorf("round trip of %v: %d %d %v", c, at, pk, ok)
		}
	}
	for _, bad := range []string{"", "!!", "MTIz", FormatCursor(1, 2) + "x"} {
		if _, _, ok := ParseCursor(bad); ok {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
		"m/README":     {Data: []byte("not a migration")},
	}
	ms, err := LoadMigrations(fsys, "m", "test")
	if err != nil || len(ms) != 2 || ms[0].Version != 1 || ms[1].SQL != "B" || ms[0].Name != "0001_a.sql" {
		t.Fatalf("%v %+v", err, ms)
	}
	for name, files := range map[string]fstest.MapFS{
		"bad name":  {"m/x_a.sql": {}},
		"zero":      {"m/0_a.sql": {}},
		"duplicate": {"m/1_a.sql": {}, "m/01_b.sql": {}},
	} {
		if _, err := LoadMigrations(files, "m", "test"); err == nil || !strings.Contains(err.Error(), "test:") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add(FormatCursor(1, 2))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if at, pk, ok := ParseCursor(s); ok {
			if at2, pk2, ok2 := ParseCursor(FormatCursor(at, pk)); !ok2 || at2 != at || pk2 != pk {
				t.Fatalf("%q parsed to %d,%d which does not round-trip", s, at, pk)
			}
		}
	})
}
