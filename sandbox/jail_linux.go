package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"

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
// None of it is mounted where the host sees it: the jail is built in the
// program's own mount namespace (see EnterMountNamespace), which the kernel
// drops with the program's last process, however it ends. Jobs chroot into
// it from the same namespace, so what they read of the mount table
// (/proc/self/mountinfo: df, findmnt) is the jail's.
type jail struct {
	root string
}

// nsEnv marks a program started again in a mount namespace of its own; its
// value is the pid of the process that started it.
const nsEnv = "RUNBOOKER_OWN_MOUNT_NAMESPACE"

// ownNamespace is set when this process runs in its own mount namespace.
var ownNamespace atomic.Bool

// EnterMountNamespace must be the first call of main in every program that
// isolates jobs (and of TestMain in their tests). Run as root, it starts the
// program again in a mount namespace of its own, passes signals on, waits,
// and exits with its status: the rest of the program runs there, where the
// jail's mounts are its alone. In the program started again (or when that
// cannot be done, or without root) it returns at once.
func EnterMountNamespace() {
	if os.Getenv(nsEnv) == strconv.Itoa(os.Getppid()) {
		// Nothing mounted here may reach the host's mounts.
		if unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, "") == nil {
			ownNamespace.Store(true)
		}
		return
	}
	if os.Geteuid() != 0 {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), nsEnv+"="+strconv.Itoa(os.Getpid()))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	if err := cmd.Start(); err != nil {
		signal.Reset()
		return // no mount namespaces here: run on, the jail will be missing
	}
	go func() {
		for sig := range sigs {
			_ = cmd.Process.Signal(sig)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if st, ok := exit.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			os.Exit(128 + int(st.Signal()))
		}
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// buildJail builds the jail in this program's own mount namespace.
func buildJail(work string, hide []string) (*jail, error) {
	if !ownNamespace.Load() {
		return nil, errors.New("the program runs in the host's mount namespace (as root, main must call sandbox.EnterMountNamespace first)")
	}
	j := &jail{root: filepath.Join(work, "root")}
	if err := j.build(work, hide); err != nil {
		j.destroy()
		return nil, err
	}
	return j, nil
}

// destroy unmounts the jail.
func (j *jail) destroy() { _ = unix.Unmount(j.root, unix.MNT_DETACH) }

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
	// Another jail built later in this namespace (two workers in one test
	// process) must not copy this one: a copy would keep the hidden
	// directories mount points after this jail is gone.
	if err := unix.Mount("", root, "", unix.MS_UNBINDABLE, ""); err != nil {
		return fmt.Errorf("make the jail unbindable: %w", err)
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
	for _, p := range hide { // outermost only (see hiddenPaths)
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
func (j *jail) hide(abs, work string) error {
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
