package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// jobDirPrefix starts every job directory's name: rb-<worker pid>-<job>-<random>.
const jobDirPrefix = "rb-"

// SweepJobDirs removes job directories under root (the system temp dir when
// empty) left behind by workers that died without cleaning up (kill -9, a
// power cut): those whose worker pid no longer runs. Directories of live
// workers, this one included, are left alone. It returns how many it removed.
func SweepJobDirs(root string) int {
	n := 0
	for _, p := range deadWorkersDirs(root, jobDirPrefix) {
		removeJobDir(p)
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			n++
		}
	}
	return n
}

// deadWorkersDirs lists the directories under root (the system temp dir
// when empty) named prefix+"<pid>-…" whose worker pid no longer runs.
func deadWorkersDirs(root, prefix string) []string {
	if root == "" {
		root = os.TempDir()
	}
	names, _ := filepath.Glob(filepath.Join(root, prefix+"*"))
	var out []string
	for _, p := range names {
		rest := strings.TrimPrefix(filepath.Base(p), prefix)
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if st, err := os.Lstat(p); err == nil && st.IsDir() {
			out = append(out, p)
		}
	}
	return out
}
