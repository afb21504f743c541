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
	if root == "" {
		root = os.TempDir()
	}
	names, err := filepath.Glob(filepath.Join(root, jobDirPrefix+"*"))
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range names {
		rest := strings.TrimPrefix(filepath.Base(p), jobDirPrefix)
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if st, err := os.Lstat(p); err != nil || !st.IsDir() {
			continue
		}
		removeJobDir(p)
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			n++
		}
	}
	return n
}
