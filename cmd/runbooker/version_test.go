package main

import (
	"strings"
	"testing"
)

func TestVersionOfClientAndServer(t *testing.T) {
	s := startServer(t)
	code, out, errOut := s.cli("version")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "runbooker "+version+" (go") ||
		!strings.HasPrefix(lines[1], "server "+version+" (go") {
		t.Errorf("version: exit %d out %q err %q", code, out, errOut)
	}
	if st, _, body := s.call("GET", "/api/v1/version", "", ""); st != 401 {
		t.Errorf("the version answers without credentials: %d %s", st, body)
	}
}
