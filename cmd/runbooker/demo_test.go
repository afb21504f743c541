package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// The banner names a command the user can run: not "runbooker" when that
// is not on PATH, and not the deleted binary of `go run`.
func TestBannerCommandName(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "runbooker")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "rb")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	modRoot, _ := filepath.Abs("../..")
	t.Setenv("PATH", dir)
	cases := []struct{ exe, wd, want string }{
		{bin, "/", "runbooker"},
		{other, "/", other},
		{"/tmp/go-build123/b001/exe/runbooker", modRoot, "go run ./cmd/runbooker"},
		{"/tmp/go-build123/b001/exe/runbooker", "/", "go run github.com/runbooker/runbooker/cmd/runbooker"},
	}
	for _, c := range cases {
		if got := commandName(c.exe, c.wd); got != c.want {
			t.Errorf("commandName(%q, %q) = %q, want %q", c.exe, c.wd, got, c.want)
		}
	}
	t.Setenv("PATH", "")
	if got := commandName(bin, "/"); got != bin {
		t.Errorf("runbooker not on PATH: %q", got)
	}
}

// The banner counts the runbooks stored, not only the demo's it imported.
func TestDemoBannerCountsStoredRunbooks(t *testing.T) {
	s := startServer(t, func(c *ServeConfig) { c.Demo = true })
	for _, name := range []string{"org_extra_one", "org_extra_two", "org_extra_three"} {
		s.put(name, runbooker.LangBash, "#!/bin/bash\necho ok\n")
	}
	var out bytes.Buffer
	if err := s.m.firstStart(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	stored, err := s.m.Store.ListRunbooks(context.Background(), runbooker.DefaultTenant, runbooker.RunbookFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(" with %d runbooks", len(stored)); !strings.Contains(out.String(), want) {
		t.Errorf("banner does not say %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "\n  runbooker run ") {
		t.Errorf("banner tells the test binary's user to run runbooker, which is not this binary:\n%s", out.String())
	}
}
