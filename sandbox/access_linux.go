package sandbox

import (
	"os"
	"path/filepath"
	"strings"
)

// interpretersForJobs replaces interpreters a job user could not start
// (pyenv under root's 0700 home, say) with ones it can, and says what it
// changed or dropped.
func (in *Interpreters) interpretersForJobs() string {
	var notes []string
	check := func(path *string, names ...string) {
		if *path == "" || othersCanRun(*path) {
			return
		}
		old := *path
		*path = ""
		for _, cand := range candidates(names...) {
			if othersCanRun(cand) {
				*path = cand
				break
			}
		}
		if *path == "" {
			notes = append(notes, old+" cannot be started by job users, and no other "+names[0]+" can: "+names[0]+" runbooks will fail")
		} else {
			notes = append(notes, old+" cannot be started by job users; they use "+*path)
		}
	}
	check(&in.Bash, "bash")
	pyBefore := in.Python
	check(&in.Python, "python3", "python")
	if in.Python != pyBefore {
		in.pathPrefix = ""
		if in.Python != "" {
			if real := askPython(in.Python); real != "" {
				in.Python = real
			}
		}
	}
	check(&in.PowerShell, "pwsh")
	return strings.Join(notes, "; ")
}

// candidates lists every file of the given names on PATH and in the usual
// system directories, resolved to real paths.
func candidates(names ...string) []string {
	dirs := filepath.SplitList(os.Getenv("PATH"))
	dirs = append(dirs, "/usr/local/bin", "/usr/bin", "/bin")
	var out []string
	seen := map[string]bool{}
	for _, name := range names {
		for _, d := range dirs {
			p := resolveLink(filepath.Join(d, name))
			if st, err := os.Stat(p); err == nil && !st.IsDir() && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// othersCanRun reports whether a user with no relation to the file's owner
// may execute path: every directory on the way searchable by others and
// the file executable and readable by them (scripts and interpreters are
// read by the loader).
func othersCanRun(path string) bool {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o005 != 0o005 {
		return false
	}
	return othersCanEnter(filepath.Dir(path))
}

// othersCanEnter reports whether every directory from / down to dir is
// searchable by others.
func othersCanEnter(dir string) bool {
	for ; ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == "/" || dir == "." {
			return true
		}
	}
}
