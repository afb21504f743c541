package agent

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

type fakeModules struct {
	mu      sync.Mutex
	files   map[string][]byte
	fetches int
	corrupt bool
}

func (f *fakeModules) Module(ctx context.Context, j *runbooker.Job, sha string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches++
	b, ok := f.files[sha]
	if !ok {
		return nil, runbooker.Errorf(runbooker.ENOTFOUND, "module content %s not found", sha)
	}
	if f.corrupt {
		return append([]byte("x"), b...), nil
	}
	return b, nil
}

func (f *fakeModules) add(t *testing.T, kind runbooker.ModuleKind, name, version string, files ...string) runbooker.ModuleRef {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, _ := zw.Create(files[i])
		_, _ = w.Write([]byte(files[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sha := runbooker.ContentHash(buf.Bytes())
	f.mu.Lock()
	f.files[sha] = buf.Bytes()
	f.mu.Unlock()
	return runbooker.ModuleRef{Kind: kind, Name: name, Version: version, SHA256: sha}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestModuleCacheFetchesOnceAndSweeps(t *testing.T) {
	src := &fakeModules{files: map[string][]byte{}}
	clock := &fakeClock{t: time.Now()}
	dir := t.TempDir()
	t.Cleanup(func() { removeTree(filepath.Join(dir, "unpacked")) }) // read-only trees
	c, err := OpenModuleCache(src, ModuleCacheConfig{Dir: filepath.Join(dir, "cache"), UnpackDir: filepath.Join(dir, "unpacked"),
		MaxAge: 24 * time.Hour, Now: clock.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps := src.add(t, runbooker.ModulePowerShell, "Hello", "1.2.3", "Hello/1.2.3/Hello.psd1", "@{ ModuleVersion = '1.2.3' }", "Hello/1.2.3/Hello.psm1", "function Hi {}")
	py := src.add(t, runbooker.ModulePython, "greet", "0.1", "greet/__init__.py", "X = 1\n", "greet-0.1.dist-info/METADATA", "Name: greet\nVersion: 0.1\n")
	job := &runbooker.Job{ID: "j1", TenantID: runbooker.DefaultTenant}
	ctx := context.Background()

	spec := sandbox.Spec{Env: map[string]string{"PYTHONPATH": "/support"}}
	release, err := c.Provide(ctx, job, []runbooker.ModuleRef{ps, py}, &spec)
	if err != nil {
		t.Fatal(err)
	}
	psDir, pyDir := filepath.Join(dir, "unpacked", ps.SHA256), filepath.Join(dir, "unpacked", py.SHA256)
	if spec.Env["PSModulePath"] != psDir || spec.Env["PYTHONPATH"] != "/support"+string(os.PathListSeparator)+pyDir {
		t.Errorf("env: %v", spec.Env)
	}
	if b, err := os.ReadFile(filepath.Join(psDir, "Hello", "1.2.3", "Hello.psm1")); err != nil || string(b) != "function Hi {}" {
		t.Errorf("the PowerShell module is not at <PSModulePath>/Hello/1.2.3: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(pyDir, "greet", "__init__.py")); err != nil {
		t.Errorf("the wheel is not importable from PYTHONPATH: %v", err)
	}
	if st, err := os.Stat(filepath.Join(psDir, "Hello")); err != nil || st.Mode().Perm()&0o222 != 0 {
		t.Errorf("unpacked directory is writable: %v %v", st.Mode(), err)
	}
	// In use: a sweep long after leaves it alone.
	clock.Add(48 * time.Hour)
	if n, err := c.Sweep(); err != nil || n != 0 {
		t.Errorf("sweep of entries in use removed %d (%v)", n, err)
	}
	release()

	// A second job takes it from the cache, and that counts as a use.
	spec2 := sandbox.Spec{}
	release, err = c.Provide(ctx, &runbooker.Job{ID: "j2", TenantID: runbooker.DefaultTenant}, []runbooker.ModuleRef{py}, &spec2)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if src.fetches != 2 {
		t.Errorf("fetches = %d, want 2 (one per module)", src.fetches)
	}
	clock.Add(23 * time.Hour)
	if n, err := c.Sweep(); err != nil || n != 1 {
		t.Errorf("sweep removed %d (%v), want 1: the PowerShell module unused for 71 h", n, err)
	}
	if _, err := os.Stat(psDir); !os.IsNotExist(err) {
		t.Errorf("the swept module is still unpacked: %v", err)
	}
	if _, err := os.Stat(pyDir); err != nil {
		t.Errorf("the module used 23 h ago went: %v", err)
	}
	clock.Add(2 * time.Hour)
	if n, _ := c.Sweep(); n != 1 {
		t.Errorf("sweep removed %d, want the wheel", n)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "cache")); len(ents) != 0 {
		t.Errorf("cache left: %v", ents)
	}
}

func TestModuleCacheRefusesWrongHash(t *testing.T) {
	src := &fakeModules{files: map[string][]byte{}, corrupt: true}
	dir := t.TempDir()
	c, err := OpenModuleCache(src, ModuleCacheConfig{Dir: filepath.Join(dir, "cache"), UnpackDir: filepath.Join(dir, "unpacked")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	py := src.add(t, runbooker.ModulePython, "greet", "0.1", "greet/__init__.py", "")
	_, err = c.Provide(context.Background(), &runbooker.Job{ID: "j"}, []runbooker.ModuleRef{py}, &sandbox.Spec{})
	if err == nil || !strings.Contains(err.Error(), "does not match its SHA-256") || !strings.Contains(err.Error(), "greet 0.1") {
		t.Errorf("err = %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "cache")); len(ents) != 0 {
		t.Errorf("refused content was cached: %v", ents)
	}
	bad := py
	bad.SHA256 = "../../etc"
	if _, err := c.Provide(context.Background(), &runbooker.Job{ID: "j"}, []runbooker.ModuleRef{bad}, &sandbox.Spec{}); err == nil {
		t.Error("a malformed hash was accepted")
	}
}
