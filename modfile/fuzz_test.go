package modfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzInspectUnpack feeds arbitrary bytes as an upload: Inspect and Unpack
// never panic, and nothing is written outside the unpack directory.
func FuzzInspectUnpack(f *testing.F) {
	f.Add(archive(f, "Hello/1.2.3/Hello.psd1", psd1, "Hello/1.2.3/Hello.psm1", "x"), "m.zip")
	f.Add(archive(f, "greet/__init__.py", "", "greet-0.1.dist-info/METADATA", "Name: greet\nVersion: 0.1\n"), "greet-0.1-py3-none-any.whl")
	f.Add(archive(f, "X.nuspec", "<package><metadata><id>X</id><version>1</version></metadata></package>", "X.psd1", "@{}"), "x.nupkg")
	f.Add([]byte("PK\x03\x04"), "")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		lim := Limits{MaxFiles: 50, MaxBytes: 1 << 20}
		info, err := Inspect(data, name, lim)
		if err != nil {
			return
		}
		parent := t.TempDir()
		dir := filepath.Join(parent, "u")
		_ = Unpack(data, info, dir, lim)
		_ = filepath.Walk(parent, func(p string, fi os.FileInfo, err error) error {
			if err == nil && p != parent && !strings.HasPrefix(p, dir) {
				t.Errorf("wrote %s outside %s", p, dir)
			}
			return nil
		})
	})
}
