//go:build !windows

package privdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnixModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "state")
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("folder: %v %v", st.Mode(), err)
	}
	f := filepath.Join(dir, "key")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(f); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a 0644 file passed: %v", err)
	}
	if err := ProtectFile(f); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(f); err != nil {
		t.Errorf("after ProtectFile: %v", err)
	}
}
