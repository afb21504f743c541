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
	remote := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{src.URL}})
	branch := src.Branch
	if branch == "" {
		if branch, err = defaultBranch(ctx, remote, &git.ListOptions{Auth: am, CABundle: caBundle(src)}); err != nil {
			return nil, s.fetchError(ctx, src, creds, "", err)
		}
	}
	local := plumbing.NewRemoteReferenceName("origin", branch)
	spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(branch).String() + ":" + local.String())
	err = remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: []config.RefSpec{spec}, Auth: am, Tags: git.NoTags, Force: true,
		CABundle: caBundle(src)})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, s.fetchError(ctx, src, creds, branch, err)
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

// fetchError turns what go-git reports into a client-safe error naming the
// source and what failed: the repository's own problems (not found, no such
// branch, credentials) are EINVALID, reachability and timeouts EUNAVAILABLE.
func (s *Syncer) fetchError(ctx context.Context, src *Source, creds *Credentials, branch string, err error) error {
	what := fmt.Sprintf("sync source %q (%s)", src.ID, displayURL(src))
	inval := func(format string, args ...any) error {
		return runbooker.Errorf(runbooker.EINVALID, "%s: %s", what, fmt.Sprintf(format, args...))
	}
	var nomatch git.NoMatchingRefSpecError
	msg := err.Error()
	switch {
	case errors.Is(err, errNoDefaultBranch):
		return inval("the repository has no default branch (HEAD); set branch")
	case errors.As(err, &nomatch):
		return inval("branch %q does not exist", branch)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return inval("repository not found")
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return inval("the repository is empty")
	case errors.Is(err, transport.ErrAuthenticationRequired) && creds.empty():
		return inval("the repository requires credentials (https: username and password or token; ssh: sshKey)")
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		strings.Contains(msg, "unable to authenticate"):
		return inval("the credentials were rejected")
	case strings.Contains(msg, "knownhosts:") || strings.Contains(msg, "knownHosts") || strings.Contains(msg, "known_hosts"):
		return inval("the server's host key is not trusted (%s); add it to the source's knownHosts", msg)
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls: failed to verify"):
		return inval("the server's TLS certificate is not trusted (%s); set caBundle for a private CA", msg)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "%s: fetch timed out after %s", what, s.cfg.FetchTimeout.Round(time.Second))
	case errors.Is(err, context.Canceled):
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "%s: sync canceled", what)
	case src.Kind() == KindLocal && strings.Contains(msg, "executable file not found"):
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "%s: reading a local repository needs the git binary (git-upload-pack) on PATH", what)
	}
	if branch != "" {
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "%s: fetching branch %q failed: %s", what, branch, msg)
	}
	return runbooker.Errorf(runbooker.EUNAVAILABLE, "%s: cannot reach the repository: %s", what, msg)
}
