// Package gittest builds real git repositories for tests. Commits are
// written straight as git objects from a file map per branch, so no work
// tree, git configuration or git binary is needed to make them; any git
// (the CLI, go-git) can read them.
package gittest

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a repository in a temporary directory with a file map per branch.
type Repo struct {
	Dir   string
	tb    testing.TB
	repo  *git.Repository
	files map[string]map[string][]byte // branch → path → content
	when  time.Time
}

// New creates an empty repository (with a work tree directory, like a
// developer's clone) whose HEAD points at branch "main".
func New(tb testing.TB) *Repo {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "upstream")
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		tb.Fatal(err)
	}
	r := &Repo{Dir: dir, tb: tb, repo: repo, files: map[string]map[string][]byte{},
		when: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	r.SetHEAD("main")
	return r
}

// URL is the repository as a file:// URL.
func (r *Repo) URL() string {
	p := filepath.ToSlash(r.Dir)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/… on Windows
	}
	return "file://" + p
}

// SetHEAD makes branch the repository's default branch.
func (r *Repo) SetHEAD(branch string) {
	ref := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))
	if err := r.repo.Storer.SetReference(ref); err != nil {
		r.tb.Fatal(err)
	}
}

func (r *Repo) branch(name string) map[string][]byte {
	m, ok := r.files[name]
	if !ok {
		m = map[string][]byte{}
		r.files[name] = m
	}
	return m
}

// Write sets a file of branch for the next commit.
func (r *Repo) Write(branch, path, content string) { r.branch(branch)[path] = []byte(content) }

// Remove deletes a file of branch for the next commit.
func (r *Repo) Remove(branch, path string) { delete(r.branch(branch), path) }

// Rename moves a file of branch for the next commit.
func (r *Repo) Rename(branch, from, to string) {
	m := r.branch(branch)
	m[to] = m[from]
	delete(m, from)
}

// Fork starts branch to with the files and history of from.
func (r *Repo) Fork(from, to string) {
	m := r.branch(to)
	for p, c := range r.files[from] {
		m[p] = c
	}
	if ref, err := r.repo.Reference(plumbing.NewBranchReferenceName(from), true); err == nil {
		if err := r.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(to), ref.Hash())); err != nil {
			r.tb.Fatal(err)
		}
	}
}

// DeleteBranch removes a branch.
func (r *Repo) DeleteBranch(name string) {
	delete(r.files, name)
	if err := r.repo.Storer.RemoveReference(plumbing.NewBranchReferenceName(name)); err != nil {
		r.tb.Fatal(err)
	}
}

// Commit records the branch's files as a new commit on top of the branch
// and returns its hash.
func (r *Repo) Commit(branch, message string) string {
	r.tb.Helper()
	tree := r.tree(r.branch(branch), "")
	r.when = r.when.Add(time.Minute)
	sig := object.Signature{Name: "Test", Email: "test@example.com", When: r.when}
	c := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree}
	ref := plumbing.NewBranchReferenceName(branch)
	if old, err := r.repo.Reference(ref, true); err == nil {
		c.ParentHashes = []plumbing.Hash{old.Hash()}
	}
	obj := r.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		r.tb.Fatal(err)
	}
	h := r.store(obj)
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(ref, h)); err != nil {
		r.tb.Fatal(err)
	}
	return h.String()
}

// tree writes the files below dir (a prefix ending in "/" or "") as trees
// and blobs and returns the hash of the tree for dir.
func (r *Repo) tree(files map[string][]byte, dir string) plumbing.Hash {
	var entries []object.TreeEntry
	subdirs := map[string]bool{}
	for p, content := range files {
		if !strings.HasPrefix(p, dir) {
			continue
		}
		rest := strings.TrimPrefix(p, dir)
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			subdirs[rest[:i]] = true
			continue
		}
		entries = append(entries, object.TreeEntry{Name: rest, Mode: filemode.Regular, Hash: r.blob(content)})
	}
	for d := range subdirs {
		entries = append(entries, object.TreeEntry{Name: d, Mode: filemode.Dir, Hash: r.tree(files, dir+d+"/")})
	}
	// Git orders entries by name, a folder's name compared as if it ended in '/'.
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	obj := r.repo.Storer.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		r.tb.Fatal(err)
	}
	return r.store(obj)
}

func (r *Repo) blob(content []byte) plumbing.Hash {
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		r.tb.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		r.tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		r.tb.Fatal(err)
	}
	return r.store(obj)
}

func (r *Repo) store(obj plumbing.EncodedObject) plumbing.Hash {
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		r.tb.Fatal(err)
	}
	return h
}
