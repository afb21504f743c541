package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A jail is the file system a job sees, built once per worker and entered
// with chroot at every job start (a per-job mount namespace would need a
// process inside it to set it up, which costs a whole extra program start
// per job). It is a recursive bind of "/" under the work directory:
//
//   - every mount read-only and nosuid (no setuid program raises a job's
//     rights);
//   - /proc a fresh instance with hidepid=invisible: a job sees only the
//     processes of its own user id, which no other job shares;
//   - the Hide paths (data directory, master key, state directory) covered
//     by an empty read-only tmpfs, or /dev/null for a file;
//   - the work directory bound again writable (nosuid, nodev): a job may
//     write in its own job directory and nowhere else.
//
// All of it lives in the worker's own mount tree under the work directory,
// made private first so nothing propagates to the host; it is unmounted
// when the worker stops (or by the next worker, after a crash).
type jail struct {
	root string
}

func buildJail(work string, hide []string) (*jail, error) {
	// A private mount of the work directory keeps every mount below it out
	// of the host's peer groups.
	if err := unix.Mount(work, work, "", unix.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("bind the work directory: %w", err)
	}
	if err := unix.Mount("", work, "", unix.MS_PRIVATE, ""); err != nil {
		_ = unix.Unmount(work, unix.MNT_DETACH)
		return nil, fmt.Errorf("make the work directory private: %w", err)
	}
	j := &jail{root: filepath.Join(work, "root")}
	if err := j.build(work, hide); err != nil {
		j.destroy(work)
		return nil, err
	}
	return j, nil
}

func (j *jail) build(work string, hide []string) error {
	root := j.root
	if err := os.Mkdir(root, 0o700); err != nil {
		return err
	}
	if err := unix.Mount("/", root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind / into the jail: %w", err)
	}
	if err := unix.Mount("", root, "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("detach the jail from the host's mounts: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}
	if err := unix.MountSetattr(unix.AT_FDCWD, root, unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("make the jail read-only (mount_setattr needs Linux 5.12): %w", err)
	}
	proc := filepath.Join(root, "proc")
	if err := unix.Unmount(proc, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("unmount the host's /proc from the jail: %w", err)
	}
	const procFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("proc", proc, "proc", procFlags, "hidepid=invisible"); err != nil {
		if err := unix.Mount("proc", proc, "proc", procFlags, "hidepid=2"); err != nil {
			return fmt.Errorf("mount a private /proc: %w", err)
		}
	}
	for _, p := range hide {
		if err := j.hide(p, work); err != nil {
			return err
		}
	}
	inner := filepath.Join(root, work)
	if err := unix.Mount(work, inner, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the job directories into the jail: %w", err)
	}
	if err := unix.Mount("", inner, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("remount the job directories: %w", err)
	}
	return nil
}

// hide covers path in the jail: a directory with an empty read-only tmpfs,
// a file with /dev/null. A path that holds the work directory cannot be
// covered (the jobs live there) and is refused.
func (j *jail) hide(path, work string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if abs == "/" || within(work, abs) {
		return fmt.Errorf("cannot hide %s from jobs: the job directories (%s) are inside it; choose another --job-dir", abs, work)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing to hide
	}
	if err != nil {
		return err
	}
	target := filepath.Join(j.root, abs)
	if st.IsDir() {
		err = unix.Mount("tmpfs", target, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=0555")
	} else {
		if err = unix.Mount("/dev/null", target, "", unix.MS_BIND, ""); err == nil {
			err = unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
		}
	}
	if err != nil {
		return fmt.Errorf("hide %s from jobs: %w", abs, err)
	}
	return nil
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// destroy unmounts the jail and the work directory's private mount.
func (j *jail) destroy(work string) {
	_ = unix.Unmount(j.root, unix.MNT_DETACH)
	_ = unix.Unmount(work, unix.MNT_DETACH)
}

// unmountStale removes what a dead worker's jail left mounted.
func unmountStale(work string) {
	_ = unix.Unmount(filepath.Join(work, "root"), unix.MNT_DETACH)
	_ = unix.Unmount(work, unix.MNT_DETACH)
}
