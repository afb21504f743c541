package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/modfile"
	"github.com/runbooker/runbooker/sandbox"
)

// ModuleSource fetches an uploaded module or package file by its SHA-256,
// for a job of the tenant that uploaded it: the engine for the built-in
// group, the worker protocol for a hybrid worker.
type ModuleSource interface {
	Module(ctx context.Context, j *runbooker.Job, sha256 string) ([]byte, error)
}

// ModuleCacheConfig places and bounds a worker's module cache.
type ModuleCacheConfig struct {
	// Dir keeps each fetched file as <sha256>.zip: the worker's state
	// directory or the server's data directory, hidden from jobs.
	Dir string
	// UnpackDir holds each file unpacked into <sha256>/, read-only, and
	// readable by every job identity (beside the support directory).
	UnpackDir string
	// MaxAge removes entries no job has used for this long (default 24 h).
	MaxAge time.Duration
	// MaxBytes bounds the fetched files kept; the least recently used go
	// first (default 2 GiB). Entries in use are never removed.
	MaxBytes int64
	// Limits bound what a file may unpack to.
	Limits modfile.Limits
	// Now is the clock of last-use times (nil: the wall clock).
	Now runbooker.Clock
}

// ModuleCache gives jobs the module versions their Assignment names:
// fetched once per worker by SHA-256, checked, kept on disk, unpacked
// once, and put on PSModulePath or PYTHONPATH.
type ModuleCache struct {
	cfg ModuleCacheConfig
	src ModuleSource
	log *slog.Logger

	mu        sync.Mutex
	inUse     map[string]int
	locks     map[string]*sync.Mutex
	lastSweep time.Time
}

// OpenModuleCache makes the cache's directories.
func OpenModuleCache(src ModuleSource, cfg ModuleCacheConfig, log *slog.Logger) (*ModuleCache, error) {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 2 << 30
	}
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.UnpackDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(cfg.UnpackDir, 0o755); err != nil {
		return nil, err
	}
	return &ModuleCache{cfg: cfg, src: src, log: log, inUse: map[string]int{}, locks: map[string]*sync.Mutex{}}, nil
}

var shaHex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Provide makes refs ready for job j and adds their directories to the
// spec's PSModulePath (PowerShell modules) and PYTHONPATH (wheels), after
// any already there. The returned release must be called when the job
// ended; until then its entries are not swept.
func (c *ModuleCache) Provide(ctx context.Context, j *runbooker.Job, refs []runbooker.ModuleRef, spec *sandbox.Spec) (func(), error) {
	var used []string
	release := func() {
		c.mu.Lock()
		for _, h := range used {
			if c.inUse[h]--; c.inUse[h] <= 0 {
				delete(c.inUse, h)
			}
		}
		c.mu.Unlock()
	}
	var psDirs, pyDirs []string
	for _, ref := range refs {
		c.mu.Lock()
		c.inUse[ref.SHA256]++
		c.mu.Unlock()
		used = append(used, ref.SHA256)
		dir, err := c.entry(ctx, j, ref)
		if err != nil {
			release()
			return nil, err
		}
		if ref.Kind == runbooker.ModulePython {
			pyDirs = append(pyDirs, dir)
		} else {
			psDirs = append(psDirs, dir)
		}
	}
	if spec.Env == nil {
		spec.Env = map[string]string{}
	}
	addPath(spec.Env, "PSModulePath", psDirs)
	addPath(spec.Env, "PYTHONPATH", pyDirs)
	if c.now().Sub(c.sweptAt()) > time.Hour {
		if _, err := c.Sweep(); err != nil {
			c.log.Warn("sweeping the module cache", "err", err)
		}
	}
	return release, nil
}

func addPath(env map[string]string, key string, dirs []string) {
	if len(dirs) == 0 {
		return
	}
	parts := slices.DeleteFunc([]string{env[key]}, func(s string) bool { return s == "" })
	env[key] = strings.Join(append(parts, dirs...), string(os.PathListSeparator))
}

func (c *ModuleCache) now() time.Time { return c.cfg.Now.Now() }

func (c *ModuleCache) sweptAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSweep
}

func (c *ModuleCache) lock(sha string) func() {
	c.mu.Lock()
	l := c.locks[sha]
	if l == nil {
		l = &sync.Mutex{}
		c.locks[sha] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// entry returns the unpacked directory of ref, fetching and unpacking it
// when this worker has not yet.
func (c *ModuleCache) entry(ctx context.Context, j *runbooker.Job, ref runbooker.ModuleRef) (string, error) {
	what := ref.Kind.Title() + " " + ref.Name + " " + ref.Version
	if !shaHex.MatchString(ref.SHA256) {
		return "", fmt.Errorf("%s: %q is not a SHA-256", what, ref.SHA256)
	}
	defer c.lock(ref.SHA256)()
	file := filepath.Join(c.cfg.Dir, ref.SHA256+".zip")
	dir := filepath.Join(c.cfg.UnpackDir, ref.SHA256)
	now := c.now()
	if _, err := os.Stat(dir); err == nil {
		if err := os.Chtimes(file, now, now); err == nil {
			return dir, nil
		}
		removeTree(dir) // unpacked without its file: start over
	}
	data, err := os.ReadFile(file)
	if err != nil || !hashIs(data, ref.SHA256) {
		data, err = c.src.Module(ctx, j, ref.SHA256)
		if err != nil {
			return "", fmt.Errorf("fetching the %s: %s", what, runbooker.ErrorMessage(err))
		}
		if !hashIs(data, ref.SHA256) {
			return "", fmt.Errorf("the %s the server sent does not match its SHA-256 %s: refused", what, ref.SHA256)
		}
		if err := writeAtomic(file, data); err != nil {
			return "", fmt.Errorf("caching the %s: %w", what, err)
		}
	}
	_ = os.Chtimes(file, now, now)
	info, err := modfile.Inspect(data, wheelFileName(ref), c.cfg.Limits)
	if err != nil {
		return "", fmt.Errorf("the %s cannot be read: %s", what, runbooker.ErrorMessage(err))
	}
	if info.Kind != ref.Kind {
		return "", fmt.Errorf("the %s is a %s", what, info.Kind.Title())
	}
	tmp, err := os.MkdirTemp(c.cfg.UnpackDir, ".tmp-"+ref.SHA256[:12]+"-")
	if err != nil {
		return "", fmt.Errorf("unpacking the %s: %w", what, err)
	}
	if err := modfile.Unpack(data, info, tmp, c.cfg.Limits); err != nil {
		removeTree(tmp)
		return "", fmt.Errorf("unpacking the %s: %s", what, runbooker.ErrorMessage(err))
	}
	readOnly(tmp)
	if err := os.Rename(tmp, dir); err != nil {
		removeTree(tmp)
		return "", fmt.Errorf("unpacking the %s: %w", what, err)
	}
	return dir, nil
}

// wheelFileName lets a wheel without METADATA be read by its name.
func wheelFileName(ref runbooker.ModuleRef) string {
	if ref.Kind != runbooker.ModulePython {
		return ""
	}
	return ref.Name + "-" + ref.Version + "-py3-none-any.whl"
}

func hashIs(data []byte, want string) bool {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == want
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readOnly makes an unpacked tree read-only for everyone, the worker
// included (directories 0555, files 0444): jobs that run as the worker's
// own user (no isolation) cannot change what other jobs load.
func readOnly(root string) {
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		} else {
			_ = os.Chmod(p, 0o444)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first
		_ = os.Chmod(dirs[i], 0o555)
	}
}

// removeTree removes a tree readOnly made.
func removeTree(root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	_ = os.RemoveAll(root)
}

// Sweep removes entries no running job uses that were last used MaxAge
// ago or more, then the least recently used until the kept files fit
// MaxBytes. It returns how many entries it removed.
func (c *ModuleCache) Sweep() (int, error) {
	now := c.now()
	c.mu.Lock()
	c.lastSweep = now
	c.mu.Unlock()
	ents, err := os.ReadDir(c.cfg.Dir)
	if err != nil {
		return 0, err
	}
	type entry struct {
		sha  string
		used time.Time
		size int64
	}
	var keep []entry
	var total int64
	removed := 0
	for _, e := range ents {
		sha, ok := strings.CutSuffix(e.Name(), ".zip")
		if !ok || !shaHex.MatchString(sha) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if now.Sub(fi.ModTime()) >= c.cfg.MaxAge && c.remove(sha) {
			removed++
			continue
		}
		keep = append(keep, entry{sha, fi.ModTime(), fi.Size()})
		total += fi.Size()
	}
	slices.SortFunc(keep, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, e := range keep {
		if total <= c.cfg.MaxBytes {
			break
		}
		if c.remove(e.sha) {
			removed++
			total -= e.size
		}
	}
	return removed, nil
}

// remove drops one entry unless a job uses it now.
func (c *ModuleCache) remove(sha string) bool {
	defer c.lock(sha)()
	c.mu.Lock()
	busy := c.inUse[sha] > 0
	c.mu.Unlock()
	if busy {
		return false
	}
	removeTree(filepath.Join(c.cfg.UnpackDir, sha))
	if err := os.Remove(filepath.Join(c.cfg.Dir, sha+".zip")); err != nil && !os.IsNotExist(err) {
		c.log.Warn("removing a cached module", "sha256", sha, "err", err)
		return false
	}
	c.log.Info("removed an unused module from the cache", "sha256", sha)
	return true
}
