package gitsync

import (
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
)

// Side files next to a runbook script `<name>.<ext>`.
const (
	permissionsSuffix = ".permissions.json"
	markdownSuffix    = ".md"
)

// maxFileSize bounds a script or side file read from a repository, like an
// upload through the API.
const maxFileSize = 8 << 20

// maxDepth bounds the folder depth searched below a scope folder for
// misplaced scripts.
const maxDepth = 8

// entry is a runbook found in a tree: its script and side files by blob.
type entry struct {
	path        string // path in the repository, subfolder included
	name        catalog.Name
	lang        runbooker.Language
	script      plumbing.Hash
	permissions plumbing.Hash // zero when absent
	markdown    plumbing.Hash // zero when absent
}

// scan lists the runbooks of a tree below src.Subfolder: files at
// `<scope>/<category>/<name>.<ext>`. Folders that are not scopes and hidden
// folders are ignored; scripts in the wrong place or with a name that is not
// valid are reported and skipped.
func scan(root *object.Tree, src *Source) ([]entry, []FileError, error) {
	tree := root
	if src.Subfolder != "" {
		t, err := root.Tree(src.Subfolder)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return nil, nil, invalidSource(src.ID, "subfolder %q does not exist in the branch", src.Subfolder)
		} else if err != nil {
			return nil, nil, fmt.Errorf("reading subfolder %q: %w", src.Subfolder, err)
		}
		tree = t
	}
	files := map[string]plumbing.Hash{}
	if err := walk(tree, "", 0, files); err != nil {
		return nil, nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var (
		entries []entry
		errs    []FileError
		byName  = map[string]string{}
	)
	full := func(rel string) string { return path.Join(src.Subfolder, rel) }
	for _, p := range paths {
		ext := path.Ext(p)
		lang, ok := runbooker.LanguageFromExt(ext)
		if !ok || ext == "" {
			continue
		}
		if strings.Count(p, "/") != 2 {
			errs = append(errs, FileError{Path: full(p), Message: "not at <scope>/<category>/<name>" + ext + "; skipped"})
			continue
		}
		name, _, err := catalog.PathToName(src.Prefix, p)
		if err != nil {
			errs = append(errs, FileError{Path: full(p), Message: runbooker.ErrorMessage(err) + "; skipped"})
			continue
		}
		if other, dup := byName[name.Full]; dup {
			errs = append(errs, FileError{Path: full(p), Name: name.Full, Message: "maps to the same runbook name as " + full(other) + "; skipped"})
			continue
		}
		byName[name.Full] = p
		base := strings.TrimSuffix(p, ext)
		entries = append(entries, entry{
			path: full(p), name: name, lang: lang, script: files[p],
			permissions: files[base+permissionsSuffix], markdown: files[base+markdownSuffix],
		})
	}
	return entries, errs, nil
}

// walk records the regular files below t by path. At the top only scope
// folders are entered.
func walk(t *object.Tree, dir string, depth int, files map[string]plumbing.Hash) error {
	for _, e := range t.Entries {
		if strings.HasPrefix(e.Name, ".") {
			continue
		}
		p := path.Join(dir, e.Name)
		switch e.Mode {
		case filemode.Dir:
			if (depth == 0 && !isScope(e.Name)) || depth >= maxDepth {
				continue
			}
			sub, err := t.Tree(e.Name)
			if err != nil {
				return fmt.Errorf("reading folder %s: %w", p, err)
			}
			if err := walk(sub, p, depth+1, files); err != nil {
				return err
			}
		case filemode.Regular, filemode.Executable:
			if depth > 0 {
				files[p] = e.Hash
			}
		}
	}
	return nil
}

func isScope(dir string) bool {
	for _, s := range catalog.Scopes {
		if strings.EqualFold(dir, s) {
			return true
		}
	}
	return false
}

// readBlob returns a blob's content; a zero hash reads as nil.
func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	if h.IsZero() {
		return nil, nil
	}
	b, err := object.GetBlob(s, h)
	if err != nil {
		return nil, err
	}
	if b.Size > maxFileSize {
		return nil, runbooker.Errorf(runbooker.EINVALID, "%d bytes is larger than the %d byte limit", b.Size, maxFileSize)
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
