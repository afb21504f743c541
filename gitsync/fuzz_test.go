package gitsync

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSourceInput feeds source documents as the API receives them: nothing
// panics, and whatever is accepted stays inside its cache directory and its
// repository.
func FuzzSourceInput(f *testing.F) {
	for _, seed := range []string{
		`{"id": "rj", "url": "https://github.com/realmjoin/realmjoin-runbooks.git", "branch": "master", "prefix": "rjgit-", "interval": "1h"}`,
		`{"id": "s", "url": "git@host:org/repo.git", "knownHosts": "host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8XZ7ckY2y7U7tnOb0yR7pzGa0uNfBJtNZ8pbc7g4hN"}`,
		`{"id": "l", "url": "/srv/git/runbooks", "subfolder": "a/../b"}`,
		`{"id": "f", "url": "file:///srv/git/x", "interval": 120}`,
		`{"id": "../x", "url": "C:\\repos\\x", "subfolder": "..\\..\\etc"}`,
		`{"id": "d", "url": "/srv/git/x", "subfolder": "."}`,
		`{"id": "d", "url": "/srv/git/x", "subfolder": "./"}`,
		`{"id": "d", "url": "/srv/git/x", "subfolder": ". "}`,
		`{"id": "u", "url": "ext::sh -c touch% /tmp/pwned"}`,
		`{"id": "u", "url": "--upload-pack=touch /tmp/pwned"}`,
		`{"id": "u", "url": "ssh://-oProxyCommand=touch%20x/repo.git"}`,
	} {
		f.Add(seed)
	}
	root := filepath.Join("data", "git")
	sy := &Syncer{cfg: Config{Dir: root}}
	f.Fuzz(func(t *testing.T, doc string) {
		var in SourceInput
		if json.Unmarshal([]byte(doc), &in) != nil {
			return
		}
		src := in.Source
		if src.normalize() != nil {
			return
		}
		if src.Kind() == "" {
			t.Fatalf("accepted %q without a kind", src.URL)
		}
		dir := sy.cacheDir("tenant", src.ID)
		if rel, err := filepath.Rel(root, dir); err != nil || strings.HasPrefix(rel, "..") || strings.Count(filepath.ToSlash(rel), "/") != 1 {
			t.Fatalf("id %q puts the cache at %s", src.ID, dir)
		}
		for _, seg := range strings.Split(src.Subfolder, "/") {
			if seg == ".." || seg == "." || (seg == "" && src.Subfolder != "") {
				t.Fatalf("subfolder %q is not a plain path inside the repository", src.Subfolder)
			}
		}
		_ = src.checkCredentials(in.Credentials)
	})
}
