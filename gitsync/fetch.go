package gitsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/runbooker/runbooker"
)

// safeSegment is what may appear as a directory name of the cache as is.
var safeSegment = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$`)

// cacheDir is DIR/<tenant>/<source>; a tenant id unfit for a file name is
// replaced by its hash.
func (s *Syncer) cacheDir(tenantID, sourceID string) string {
	t := tenantID
	if !safeSegment.MatchString(t) {
		sum := sha256.Sum256([]byte(t))
		t = "t-" + hex.EncodeToString(sum[:8])
	}
	return filepath.Join(s.cfg.Dir, t, sourceID)
}

// openCache opens the bare cache repository in dir, creating it on first
// use. Pack files stay open until the storage is closed: a sync reads
// thousands of objects from them.
func openCache(dir string) (*git.Repository, *filesystem.Storage, error) {
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRUDefault(),
		filesystem.Options{ExclusiveAccess: true, KeepDescriptors: true})
	repo, err := git.Open(st, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.Init(st, nil)
	}
	if err != nil {
		_ = st.Close()
		return nil, nil, fmt.Errorf("git cache %s: %w", dir, err)
	}
	return repo, st, nil
}

// displayURL is the source URL safe for messages and logs.
func displayURL(src *Source) string {
	if u, err := url.Parse(src.URL); err == nil && u.User != nil && u.Scheme != "" {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return src.URL
}

// checkout is a fetched branch: its commit in the open cache.
type checkout struct {
	repo    *git.Repository
	storage *filesystem.Storage
	commit  *object.Commit
	branch  string
}

// fetch brings the source's branch into the cache and returns its commit
// and the branch name (resolved when the source names none). The caller
// closes the storage.
func (s *Syncer) fetch(ctx context.Context, tenantID string, src *Source, creds *Credentials) (co *checkout, err error) {
	am, err := auth(src, creds)
	if err != nil {
		return nil, err
	}
	repo, st, err := openCache(s.cacheDir(tenantID, src.ID))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = st.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	ctx = withGuard(ctx, s.guard)
	var px transport.ProxyOptions
	if src.Kind() == KindSSH {
		var done func()
		px, done = sshProxy(s.guard)
		defer done()
	}
	remote := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{src.URL}})
	branch := src.Branch
	if branch == "" {
		if branch, err = defaultBranch(ctx, remote, &git.ListOptions{Auth: am, CABundle: caBundle(src), ProxyOptions: px}); err != nil {
			return nil, s.fetchError(ctx, tenantID, src, "", err)
		}
	}
	local := plumbing.NewRemoteReferenceName("origin", branch)
	spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(branch).String() + ":" + local.String())
	err = remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: []config.RefSpec{spec}, Auth: am, Tags: git.NoTags, Force: true,
		CABundle: caBundle(src), ProxyOptions: px})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, s.fetchError(ctx, tenantID, src, branch, err)
	}
	ref, err := repo.Reference(local, true)
	if err != nil {
		return nil, fmt.Errorf("sync source %q: branch %q fetched but not in the cache: %w", src.ID, branch, err)
	}
	commit, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("sync source %q: commit %s of branch %q: %w", src.ID, ref.Hash(), branch, err)
	}
	return &checkout{repo: repo, storage: st, commit: commit, branch: branch}, nil
}

// defaultBranch asks the remote which branch its HEAD points at.
func defaultBranch(ctx context.Context, remote *git.Remote, opts *git.ListOptions) (string, error) {
	refs, err := remote.ListContext(ctx, opts)
	if err != nil {
		return "", err
	}
	for _, r := range refs {
		if r.Name() == plumbing.HEAD && r.Type() == plumbing.SymbolicReference && r.Target().IsBranch() {
			return r.Target().Short(), nil
		}
	}
	return "", errNoDefaultBranch
}

var errNoDefaultBranch = errors.New("no default branch")

func caBundle(src *Source) []byte {
	if src.CABundle == "" {
		return nil
	}
	return []byte(src.CABundle)
}

// unreadable is the one answer for every way a fetch fails: a repository
// that does not exist, a branch or default branch that does not, a host that
// refuses the connection or may not be reached, credentials, host keys or
// certificates not accepted. Telling them apart would let a tenant map the
// server's disk and network; the server log has the details.
const unreadable = "the repository cannot be read: it does not exist, has no such branch, " +
	"cannot or may not be reached from this server, or did not accept the credentials, host key (knownHosts) " +
	"or certificate (caBundle); the server log has the details"

// fetchError turns what go-git reports into a client-safe error naming the
// source: the same EINVALID text whatever failed (unreadable), except for
// a timeout or cancellation, which the caller sees happen anyway, and a
// server without git for local repositories. The details go to the log.
func (s *Syncer) fetchError(ctx context.Context, tenantID string, src *Source, branch string, err error) error {
	what := fmt.Sprintf("sync source %q (%s)", src.ID, displayURL(src))
	s.log.Warn("sync fetch failed", "tenant", tenantID, "source", src.ID, "url", displayURL(src), "branch", branch,
		"refused", errors.Is(err, errRefused), "err", err)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "%s: fetch timed out after %s", what, s.cfg.FetchTimeout.Round(time.Second))
	case errors.Is(err, context.Canceled):
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "%s: sync canceled", what)
	case src.Kind() == KindLocal && strings.Contains(err.Error(), "executable file not found"):
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "%s: reading a local repository needs the git binary (git-upload-pack) on PATH", what)
	}
	return runbooker.Errorf(runbooker.EINVALID, "%s: %s", what, unreadable)
}
