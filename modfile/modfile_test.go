package modfile

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// archive builds a zip of name → content (a name ending "/" is a directory).
func archive(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, err := zw.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const psd1 = "@{\n  RootModule = 'Hello.psm1'\n  ModuleVersion = '1.2.3'\n}\n"

func TestInspect(t *testing.T) {
	tests := []struct {
		name, file string
		data       []byte
		want       Info
		err        string
	}{
		{"save-module folder", "hello.zip", archive(t, "Hello/1.2.3/Hello.psd1", psd1, "Hello/1.2.3/Hello.psm1", "function Hi {}"),
			Info{Kind: runbooker.ModulePowerShell, Name: "Hello", Version: "1.2.3", Root: "Hello/1.2.3"}, ""},
		{"flat folder", "", archive(t, "Hello.psd1", psd1, "Hello.psm1", "x"),
			Info{Kind: runbooker.ModulePowerShell, Name: "Hello", Version: "1.2.3"}, ""},
		{"version from folder", "", archive(t, "Hello/2.0/Hello.psd1", "@{}"),
			Info{Kind: runbooker.ModulePowerShell, Name: "Hello", Version: "2.0", Root: "Hello/2.0"}, ""},
		{"nupkg", "hello.1.2.4.nupkg", archive(t, "[Content_Types].xml", "<x/>", "Hello.nuspec",
			`<?xml version="1.0"?><package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"><metadata><id>Hello</id><version>1.2.4</version></metadata></package>`,
			"Hello.psd1", psd1),
			Info{Kind: runbooker.ModulePowerShell, Name: "Hello", Version: "1.2.4"}, ""},
		{"wheel", "greet-0.1.0-py3-none-any.whl", archive(t, "greet/__init__.py", "", "greet-0.1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: greet\nVersion: 0.1.0\n\nName: not this\n"),
			Info{Kind: runbooker.ModulePython, Name: "greet", Version: "0.1.0"}, ""},
		{"wheel by metadata alone", "upload.bin", archive(t, "g/__init__.py", "", "g-2.dist-info/METADATA", "Name: g\r\nVersion: 2\r\n"),
			Info{Kind: runbooker.ModulePython, Name: "g", Version: "2"}, ""},
		{"wheel by file name", "six-1.16.0-py2.py3-none-any.whl", archive(t, "six.py", ""),
			Info{Kind: runbooker.ModulePython, Name: "six", Version: "1.16.0"}, ""},
		{"no manifest", "x.zip", archive(t, "a.txt", "x"), Info{}, "no PowerShell module manifest"},
		{"no version", "x.zip", archive(t, "X.psd1", "@{}"), Info{}, "no ModuleVersion"},
		{"traversal", "x.zip", archive(t, "../evil.psd1", psd1), Info{}, "climbs out"},
		{"absolute", "x.zip", archive(t, "/etc/X.psd1", psd1), Info{}, "absolute"},
		{"backslash traversal", "x.zip", archive(t, `a\..\..\X.psd1`, psd1), Info{}, "climbs out"},
		{"not a zip", "x.zip", []byte("hello"), Info{}, "not a zip"},
		{"bad name", "x.zip", archive(t, "a b.psd1", psd1), Info{}, "module name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Inspect(tt.data, tt.file, Limits{})
			if tt.err != "" {
				if err == nil || !strings.Contains(runbooker.ErrorMessage(err), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	big := archive(t, "X.psd1", psd1, "blob", strings.Repeat("a", 1<<20))
	if _, err := Inspect(big, "", Limits{MaxBytes: 1 << 19}); err == nil || !strings.Contains(err.Error(), "expands") {
		t.Errorf("size limit: %v", err)
	}
	many := archive(t, "X.psd1", psd1, "a", "", "b", "", "c", "")
	if _, err := Inspect(many, "", Limits{MaxFiles: 3}); err == nil || !strings.Contains(err.Error(), "entries") {
		t.Errorf("file limit: %v", err)
	}
}

func TestUnpack(t *testing.T) {
	data := archive(t, "Hello/1.2.3/Hello.psd1", psd1, "Hello/1.2.3/sub/Hello.psm1", "function Hi {}", "Other/x", "y")
	info, err := Inspect(data, "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := Unpack(data, info, dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "Hello", "1.2.3", "sub", "Hello.psm1")); err != nil || string(b) != "function Hi {}" {
		t.Errorf("psm1: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Other")); err == nil {
		t.Error("an entry outside the module folder was unpacked")
	}

	whl := archive(t, "greet/__init__.py", "print('hi')", "greet-0.1.dist-info/METADATA", "Name: greet\nVersion: 0.1\n")
	info, err = Inspect(whl, "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "w")
	if err := Unpack(whl, info, dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "greet", "__init__.py")); err != nil {
		t.Error(err)
	}

	// .data/purelib goes where pip puts it; scripts do not come along.
	whl = archive(t, "x-1.data/purelib/x.py", "X = 1", "x-1.data/scripts/run", "#!/bin/sh", "x-1.dist-info/METADATA", "Name: x\nVersion: 1\n")
	info, err = Inspect(whl, "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "d")
	if err := Unpack(whl, info, dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.py")); err != nil {
		t.Errorf("purelib: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x-1.data")); err == nil {
		t.Error("the .data directory was unpacked as it is")
	}
}

func TestWheelRequires(t *testing.T) {
	meta := "Name: app\nVersion: 1\nRequires-Dist: six\nRequires-Dist: greet (==0.1.0)\nRequires-Dist: charset_normalizer<4,>=2\n" +
		"Requires-Dist: PySocks!=1.5.7,>=1.5.6; extra == \"socks\"\nRequires-Dist: idna==3.4 ; python_version >= \"3\"\nRequires-Dist: ???\n"
	info, err := Inspect(archive(t, "app/__init__.py", "", "app-1.dist-info/METADATA", meta), "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"six", "greet==0.1.0", "charset_normalizer", "idna==3.4"}
	if strings.Join(info.Requires, ",") != strings.Join(want, ",") {
		t.Errorf("Requires = %q, want %q", info.Requires, want)
	}
}
