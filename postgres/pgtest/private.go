package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker/postgres"
)

// Instance is a PostgreSQL server of its own, started for one test in a
// temporary directory on a free port. Stopping it touches nothing else on
// the machine.
type Instance struct {
	t    testing.TB
	bin  string // directory of initdb and pg_ctl
	data string
	port int
	// AdminURL is the instance's maintenance database.
	AdminURL string
}

// binDir finds the directory holding initdb and pg_ctl: PATH first, then
// the newest /usr/lib/postgresql/*/bin.
func binDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// Private starts a PostgreSQL instance for the test (initdb into a temporary
// directory, a free port on 127.0.0.1, trust authentication for user
// postgres) and stops and removes it when the test ends. It skips the test,
// or fails it in CI, where initdb is not installed.
func Private(t testing.TB) *Instance {
	t.Helper()
	bin := binDir()
	if bin == "" {
		msg := "a private PostgreSQL instance cannot be started: initdb was not found on PATH or under /usr/lib/postgresql/*/bin"
		if InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Not t.TempDir: PostgreSQL refuses to run as root, and the user it runs
	// as must be able to reach its data directory.
	dir, err := os.MkdirTemp("", "rb-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := ownForServer(dir, data); err != nil {
		t.Fatalf("private PostgreSQL: %v", err)
	}
	in := &Instance{t: t, bin: bin, data: data, port: freePort(t)}
	in.AdminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres", in.port)
	in.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	t.Cleanup(func() {
		_ = in.command("pg_ctl", "-D", in.data, "-m", "immediate", "-w", "stop").Run()
	})
	in.Start()
	return in
}

// Database creates an empty database on the instance and returns its URL.
func (in *Instance) Database(name string) string {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, err := postgres.CreateDatabase(ctx, in.AdminURL, name)
	if err != nil {
		in.t.Fatalf("creating database %s on the private instance: %v", name, err)
	}
	return url
}

// Start starts the instance and waits until it takes connections.
func (in *Instance) Start() {
	in.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", in.port, filepath.Dir(in.data))
	in.run("pg_ctl", "-D", in.data, "-o", opts, "-l", filepath.Join(filepath.Dir(in.data), "log"), "-w", "-t", "60", "start")
}

// Stop stops the instance (fast shutdown: sessions are disconnected).
func (in *Instance) Stop() {
	in.t.Helper()
	in.run("pg_ctl", "-D", in.data, "-m", "fast", "-w", "stop")
}

// Crash stops the instance as a crash would (immediate shutdown: no
// checkpoint, and what the WAL buffers held unwritten is lost); Start
// then recovers from the WAL.
func (in *Instance) Crash() {
	in.t.Helper()
	in.run("pg_ctl", "-D", in.data, "-m", "immediate", "-w", "stop")
}

func (in *Instance) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(in.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	asServerUser(cmd)
	return cmd
}

func (in *Instance) run(name string, args ...string) {
	in.t.Helper()
	if out, err := in.command(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(in.data), "log"))
		in.t.Fatalf("private PostgreSQL: %s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, log)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
