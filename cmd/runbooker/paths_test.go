package main

import "testing"

func TestDefaultDirs(t *testing.T) {
	for _, c := range []struct{ goos, programData, name, want string }{
		{"linux", `C:\ProgramData`, "data", "./data"},
		{"darwin", "", "worker-state", "./worker-state"},
		{"windows", `D:\ProgramData`, "worker-state", `D:\ProgramData\Runbooker\worker-state`},
		{"windows", "", "data", `C:\ProgramData\Runbooker\data`},
	} {
		if got := defaultDirOn(c.goos, c.programData, c.name); got != c.want {
			t.Errorf("defaultDirOn(%s, %q, %s) = %s, want %s", c.goos, c.programData, c.name, got, c.want)
		}
	}
}
