package directory

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
)

// maxStaticFile bounds how much of a static file is read; a directory
// larger than this belongs in LDAP or Graph.
const maxStaticFile = 64 << 20

// staticFile is a static directory read from a file on the server. It
// looks at the file's modification time at most once a second and reads
// it again when that (or its size) changed. A file that no longer parses
// leaves the last good version in place, and the failure is logged once
// per change of the file.
type staticFile struct {
	path string
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	current *static
	checked time.Time // when the file was last stat'ed
	modTime time.Time // of the version last read, good or not
	size    int64
}

// openStaticFile reads path once; an unreadable or invalid file is an
// error here, not later. now is the clock for the once-a-second check
// (nil: the wall clock).
func openStaticFile(path string, now func() time.Time) (*staticFile, error) {
	if now == nil {
		now = time.Now
	}
	f := &staticFile{path: path, now: now, log: slog.Default()}
	info, s, err := f.read()
	if err != nil {
		return nil, err
	}
	f.current, f.checked, f.modTime, f.size = s, now(), info.ModTime(), info.Size()
	return f, nil
}

// read loads and parses the file.
func (f *staticFile) read() (os.FileInfo, *static, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EINVALID, "static directory file %s cannot be opened", f.path), err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EINVALID, "static directory file %s cannot be read", f.path), err)
	}
	data, err := io.ReadAll(io.LimitReader(file, maxStaticFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EINVALID, "static directory file %s cannot be read", f.path), err)
	}
	if len(data) > maxStaticFile {
		return nil, nil, runbooker.Errorf(runbooker.EINVALID, "static directory file %s is larger than %d MiB", f.path, maxStaticFile>>20)
	}
	s, err := parseStatic(data)
	if err != nil {
		return nil, nil, runbooker.Errorf(runbooker.EINVALID, "%s: %s", f.path, runbooker.ErrorMessage(err))
	}
	return info, s, nil
}

// load returns the current version, reading the file again first when a
// second has passed since the last look and it has changed.
func (f *staticFile) load() *static {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if now.Sub(f.checked) < time.Second && !now.Before(f.checked) {
		return f.current
	}
	f.checked = now
	info, err := os.Stat(f.path)
	if err != nil {
		if f.size != -1 {
			f.log.Warn("static directory file cannot be checked; keeping the last version", "path", f.path, "err", err)
			f.size = -1
		}
		return f.current
	}
	if info.ModTime().Equal(f.modTime) && info.Size() == f.size {
		return f.current
	}
	f.modTime, f.size = info.ModTime(), info.Size()
	read, s, err := f.read()
	if err != nil {
		f.log.Warn("static directory file changed but cannot be used; keeping the last version", "path", f.path, "err", err)
		return f.current
	}
	// The file may have changed again between the stat and the read;
	// remember what was read so that such a change is seen next time.
	f.modTime, f.size = read.ModTime(), read.Size()
	f.current = s
	return s
}

// Lookup implements Directory.
func (f *staticFile) Lookup(ctx context.Context, kind Kind, key string) (*Object, error) {
	return f.load().Lookup(ctx, kind, key)
}

// Search implements Directory.
func (f *staticFile) Search(ctx context.Context, kind Kind, query string, limit int) ([]Object, error) {
	return f.load().Search(ctx, kind, query, limit)
}

// MemberOf implements Directory.
func (f *staticFile) MemberOf(ctx context.Context, kind Kind, id string) ([]string, error) {
	return f.load().MemberOf(ctx, kind, id)
}
