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

func TestServiceAccount(t *testing.T) {
	for _, c := range []struct {
		in, want string
		password bool
	}{
		{"", "", false},
		{"LocalSystem", "", false},
		{"virtual", `NT SERVICE\runbooker-worker`, false},
		{`NT AUTHORITY\LocalService`, `NT AUTHORITY\LocalService`, false},
		{`CONTOSO\gmsa-rb$`, `CONTOSO\gmsa-rb$`, false},
		{`CONTOSO\svc-rb`, `CONTOSO\svc-rb`, true},
		{"svc-rb", `.\svc-rb`, true},
		{"svc-rb@contoso.com", "svc-rb@contoso.com", true},
	} {
		got, pw, err := serviceAccount(c.in, "runbooker-worker")
		if err != nil || got != c.want || pw != c.password {
			t.Errorf("serviceAccount(%q) = %q, %v, %v; want %q, %v", c.in, got, pw, err, c.want, c.password)
		}
	}
	for _, bad := range []string{`a\b\c`, `\svc`, "svc:rb", `"svc"`} {
		if _, _, err := serviceAccount(bad, "x"); err == nil {
			t.Errorf("serviceAccount(%q) accepted", bad)
		}
	}
}
