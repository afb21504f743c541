package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/password"
	"github.com/runbooker/runbooker/sqlite"
)

// runCLI runs one command in-process with stdin, as the binary would.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// openData opens the SQLite database of a data directory the CLI wrote.
func openData(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "runbooker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestUserCreateStoresAnArgon2idHash(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "s3cret pass phrase\n", "user", "create", "Ada@Example.com", "--display-name", "Ada Lovelace",
		"--password-stdin", "--data", dir)
	if code != 0 || !strings.Contains(out, `created user "Ada@Example.com" in tenant "default"`) {
		t.Fatalf("user create: exit %d, out %q, err %q", code, out, errOut)
	}
	st := openData(t, dir)
	u, err := st.User(context.Background(), runbooker.DefaultTenant, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.DisplayName != "Ada Lovelace" || u.Disabled || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("stored user = %+v", u)
	}
	for pw, want := range map[string]bool{"s3cret pass phrase": true, "s3cret pass phrase\n": false, "wrong password": false} {
		if ok, err := password.Verify(pw, u.PasswordHash); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if code, _, errOut := runCLI(t, "another password\n", "user", "create", "ADA@example.com", "--password-stdin", "--data", dir); code == 0 ||
		!strings.Contains(errOut, "already exists") {
		t.Errorf("duplicate user create: exit %d, err %q", code, errOut)
	}
}

func TestUserCreateRefusesBadPasswords(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ stdin, args, want string }{
		{"", "user create a@example.com --password-stdin", "empty"},
		{"\nlong enough password\n", "user create a@example.com --password-stdin", "empty"},
		{"short\n", "user create a@example.com --password-stdin", "shorter than 8 characters"},
		{"ümlaut7\n", "user create a@example.com --password-stdin", "shorter than 8 characters"},
		{strings.Repeat("x", 2000) + "\n", "user create a@example.com --password-stdin", "longer than 1024 bytes"},
		{"long enough password\n", "user create a@example.com", "--password-stdin is required"},
		{"long enough password\n", "user passwd a@example.com", "--password-stdin is required"},
		{"", "user create", "usage"},
		{"", "user frobnicate x", "usage"},
	} {
		args := append(strings.Fields(c.args), "--data", dir)
		code, _, errOut := runCLI(t, c.stdin, args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s with stdin %.20q: exit %d, err %q; want an error with %q", c.args, c.stdin, code, errOut, c.want)
		}
	}
	st := openData(t, dir)
	if us, _ := st.ListUsers(context.Background(), runbooker.DefaultTenant); len(us) != 0 {
		t.Errorf("refused creates stored users: %+v", us)
	}
}

// list, passwd, disable, enable and delete; disabling, deleting and a new
// password end the person's sessions.
func TestUserLifecycle(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, upn := range []string{"bob@example.com", "ada@example.com"} {
		if code, _, errOut := runCLI(t, "first password\n", "user", "create", upn, "--password-stdin", "--data", dir); code != 0 {
			t.Fatalf("create %s: %s", upn, errOut)
		}
	}
	code, out, _ := runCLI(t, "", "user", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "ada@example.com") || strings.Index(out, "ada@") > strings.Index(out, "bob@") ||
		strings.Count(out, "enabled") != 2 {
		t.Fatalf("user list: exit %d\n%s", code, out)
	}
	session := func() {
		st := openData(t, dir)
		err := st.CreateSession(ctx, &runbooker.Session{TenantID: runbooker.DefaultTenant, IDHash: runbooker.HashSecret(runbooker.NewSecret()),
			UPN: "Ada@example.com", Method: runbooker.SignInLocal, ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	step := func(stdin string, want string, args ...string) {
		t.Helper()
		code, out, errOut := runCLI(t, stdin, append(args, "--data", dir)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("%v: exit %d, out %q, err %q; want %q", args, code, out, errOut, want)
		}
	}
	user := func() *runbooker.User {
		st := openData(t, dir)
		defer st.Close()
		u, err := st.User(ctx, runbooker.DefaultTenant, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	session()
	step("second password\n", "1 sessions ended", "user", "passwd", "ADA@example.com", "--password-stdin")
	if ok, _ := password.Verify("second password", user().PasswordHash); !ok {
		t.Error("passwd did not store the new password")
	}
	session()
	session()
	step("", "2 sessions ended", "user", "disable", "ada@example.com")
	if !user().Disabled {
		t.Error("disable did not disable")
	}
	if _, out, _ := runCLI(t, "", "user", "list", "--data", dir); !strings.Contains(out, "disabled") {
		t.Errorf("user list does not show the disabled user:\n%s", out)
	}
	step("", "enabled user", "user", "enable", "ada@example.com")
	if user().Disabled {
		t.Error("enable did not enable")
	}
	session()
	step("", "1 sessions ended", "user", "delete", "ada@example.com")
	if code, _, errOut := runCLI(t, "", "user", "delete", "ada@example.com", "--data", dir); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("second delete: exit %d, err %q", code, errOut)
	}
	// Every change is in the audit log, whose chain holds.
	if code, out, _ := runCLI(t, "", "audit", "verify", "--data", dir); code != 0 || !strings.Contains(out, `"default": 6 entries, intact`) {
		t.Errorf("audit verify after the lifecycle: exit %d, %q", code, out)
	}
}

func TestCredentialCreateBoundToUser(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "", "credential", "create", "--name", "ada-cli", "--user", "ada@example.com", "--data", dir)
	if code != 0 || !strings.Contains(out, "acting for ada@example.com") {
		t.Fatalf("credential create --user: exit %d, out %q, err %q", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id, _, _ := strings.Cut(lines[len(lines)-1], ":")
	st := openData(t, dir)
	c, err := st.Credential(context.Background(), id)
	if err != nil || c.User != "ada@example.com" || c.Role != runbooker.RoleOperator {
		t.Fatalf("stored credential = %+v, %v; want bound to ada@example.com, operator", c, err)
	}
	code, _, errOut = runCLI(t, "", "credential", "create", "--name", "x", "--user", "ada@example.com", "--role", "admin", "--data", dir)
	if code == 0 || !strings.Contains(errOut, "bind operator credentials only") {
		t.Errorf("credential create --user --role admin: exit %d, err %q", code, errOut)
	}
}
