package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// tmpfsMagic is the statfs type of a tmpfs.
const tmpfsMagic = 0x01021994

// defaultJobDir picks where job directories go: the system temp dir when it
// is a tmpfs, else /dev/shm when that is a tmpfs with at least 1 GiB free
// (creating and removing a directory per job costs a journal write on a disk
// file system, a measurable share of a short job), else the temp dir.
func defaultJobDir() string {
	tmp := os.TempDir()
	if isTmpfs(tmp, 0) {
		return ""
	}
	if isTmpfs("/dev/shm", 1<<30) {
		return "/dev/shm"
	}
	return ""
}

func isTmpfs(dir string, minFree uint64) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil || st.Type != tmpfsMagic {
		return false
	}
	if unix.Access(dir, unix.W_OK) != nil {
		return false
	}
	return uint64(st.Bavail)*uint64(st.Bsize) >= minFree
}
