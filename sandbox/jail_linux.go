package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

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
// None of it is mounted where the host sees it. The worker starts itself
// once more as a holder (see ServeJailHolder) in a mount namespace of its
// own, builds the jail there and waits; jobs chroot into the jail through
// /proc/<holder>/root. When the worker goes, however it goes, the holder
// dies with it (Pdeathsig) and the kernel drops every mount: nothing is
// left mounted on the host, and the hidden directories can be removed
// while the jail exists.
type jail struct {
	root   string    // the jail as jobs chroot into it, through the holder
	holder *exec.Cmd // nil once stopped
	stdin  io.WriteCloser
}

// holderEnv marks a process started as a jail holder.
const holderEnv = "RUNBOOKER_JAIL_HOLDER"

// holderReady is set by ServeJailHolder: only a program that calls it may
// be started again as a holder.
var holderReady atomic.Bool

// holderRequest is what the worker tells its holder.
type holderRequest struct {
	Work string   `json:"work"`
	Hide []string `json:"hide"`
}

// ServeJailHolder must be the first call of main in every program that
// isolates jobs (and of TestMain in their tests). In a process started as
// a jail holder it builds the jail and never returns; elsewhere it only
// notes that the program can be started as one.
func ServeJailHolder() {
	holderReady.Store(true)
	if os.Getenv(holderEnv) != "1" {
		return
	}
	var req holderRequest
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err == nil {
		err = buildJailHere(req.Work, req.Hide)
	}
	if err != nil {
		fmt.Fprintln(os.Stdout, "error: "+err.Error())
		os.Exit(1)
	}
	fmt.Fprintln(os.Stdout, "ok")
	_, _ = io.Copy(io.Discard, in) // until the worker closes the pipe or dies
	os.Exit(0)
}

// buildJail starts the holder and has it build the jail.
func buildJail(work string, hide []string) (*jail, error) {
	if !holderReady.Load() {
		return nil, errors.New("this program does not call sandbox.ServeJailHolder, so it cannot hold a jail")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{holderEnv + "=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the jail holder: %w", err)
	}
	j := &jail{holder: cmd, stdin: stdin,
		root: filepath.Join(fmt.Sprintf("/proc/%d/root", cmd.Process.Pid), work, "root")}
	req, _ := json.Marshal(holderRequest{Work: work, Hide: hide})
	_, _ = stdin.Write(append(req, '\n'))
	answer, _ := bufio.NewReader(stdout).ReadString('\n')
	if answer = strings.TrimSpace(answer); answer != "ok" {
		j.destroy()
		if answer == "" {
			answer = "the jail holder ended without an answer"
		}
		return nil, errors.New(strings.TrimPrefix(answer, "error: "))
	}
	return j, nil
}

// destroy ends the holder, and with it the jail's mounts.
func (j *jail) destroy() {
	if j.holder == nil {
		return
	}
	_ = j.stdin.Close()
	done := make(chan struct{})
	go func() { _ = j.holder.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = j.holder.Process.Kill()
		<-done
	}
	j.holder = nil
}

// buildJailHere builds the jail in the holder's own mount namespace.
func buildJailHere(work string, hide []string) error {
	// Nothing mounted here may reach the host's mounts.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("detach the jail's mount namespace: %w", err)
	}
	j := &jail{root: filepath.Join(work, "root")}
	return j.build(work, hide)
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
	// Shortest first: a path inside a directory already covered is gone.
	hide = slices.Clone(hide)
	slices.SortFunc(hide, func(a, b string) int { return len(a) - len(b) })
	var covered []string
	for _, p := range hide {
		if slices.ContainsFunc(covered, func(dir string) bool { return within(p, dir) }) {
			continue
		}
		dir, err := j.hide(p, work)
		if err != nil {
			return err
		}
		if dir {
			covered = append(covered, p)
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
func (j *jail) hide(path, work string) (dir bool, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if abs == "/" || within(work, abs) {
		return false, fmt.Errorf("cannot hide %s from jobs: the job directories (%s) are inside it; choose another --job-dir", abs, work)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // nothing to hide
	}
	if err != nil {
		return false, err
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
		return false, fmt.Errorf("hide %s from jobs: %w", abs, err)
	}
	return st.IsDir(), nil
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}
