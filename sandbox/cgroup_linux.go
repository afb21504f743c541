package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cgroups are the per-job control groups of one worker: a parent group
// named after the worker under the worker's own group, and one child per
// running job with its memory, process-count and CPU-weight limits.
//
// On cgroup v2 a job's first process is cloned straight into its group
// (CLONE_INTO_CGROUP). On v1 there is no such flag, and moving the process
// after it started would leave out whatever it forked meanwhile; so the
// thread that starts it joins the job's groups for the length of the fork
// and leaves again, and the child is born inside.
type cgroups struct {
	v2      bool
	parent  []cgroupDir    // v1: one per controller; v2: one
	pending sync.WaitGroup // job groups being removed
}

type cgroupDir struct {
	ctrl string // v1 controller ("memory", "pids", "cpu"); "" on v2
	own  string // the worker's own group (where its threads return)
	dir  string // the worker's parent group for jobs
}

var v1Controllers = []string{"memory", "pids", "cpu"}

// setupCgroups finds the hierarchy and makes the worker's parent group.
func setupCgroups(name string) (*cgroups, error) {
	own, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	removeStaleCgroups(own, mounts)
	cg := &cgroups{}
	if v2 := mounts["!v2"]; v2 != "" && mounts["memory"] == "" {
		return setupV2(v2, own[""], name)
	}
	for _, c := range v1Controllers {
		mnt, path := mounts[c], own[c]
		if mnt == "" {
			cg.remove()
			return nil, fmt.Errorf("the %s controller is not mounted", c)
		}
		d := cgroupDir{ctrl: c, own: filepath.Join(mnt, path), dir: filepath.Join(mnt, path, name)}
		if err := os.Mkdir(d.dir, 0o755); err != nil {
			cg.remove()
			return nil, fmt.Errorf("create cgroup %s: %w", d.dir, err)
		}
		cg.parent = append(cg.parent, d)
	}
	return cg, nil
}

func setupV2(mnt, path, name string) (*cgroups, error) {
	own := filepath.Join(mnt, path)
	// Children of the worker's group get the controllers only if that group
	// hands them down, which a group holding processes cannot do unless it
	// is the root: a service manager must delegate a group to the worker.
	_ = os.WriteFile(filepath.Join(own, "cgroup.subtree_control"), []byte("+memory +pids +cpu"), 0)
	d := cgroupDir{own: own, dir: filepath.Join(own, name)}
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", d.dir, err)
	}
	ctrls, err := os.ReadFile(filepath.Join(d.dir, "cgroup.controllers"))
	if err != nil {
		_ = os.Remove(d.dir)
		return nil, err
	}
	for _, c := range v1Controllers {
		if !strings.Contains(" "+strings.TrimSpace(string(ctrls))+" ", " "+c+" ") {
			_ = os.Remove(d.dir)
			return nil, fmt.Errorf("the %s controller is not delegated to %s", c, own)
		}
	}
	if err := os.WriteFile(filepath.Join(d.dir, "cgroup.subtree_control"), []byte("+memory +pids +cpu"), 0); err != nil {
		_ = os.Remove(d.dir)
		return nil, fmt.Errorf("enable controllers in %s: %w", d.dir, err)
	}
	return &cgroups{v2: true, parent: []cgroupDir{d}}, nil
}

// ownCgroups reads the worker's group per v1 controller ("" for v2).
func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, nil
}

// cgroupMounts maps each v1 controller to its mount point, and "!v2" to the
// cgroup2 mount point.
func cgroupMounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(fields) < sep+4 || len(fields) < 5 {
			continue
		}
		switch fields[sep+1] {
		case "cgroup2":
			if out["!v2"] == "" {
				out["!v2"] = fields[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(fields[sep+3], ",") {
				if out[opt] == "" {
					out[opt] = fields[4]
				}
			}
		}
	}
	return out, sc.Err()
}

func (cg *cgroups) describe() string {
	if cg.v2 {
		return "cgroup v2 (memory, pids, cpu) under " + cg.parent[0].dir
	}
	return "cgroup v1 (memory, pids, cpu) under " + cg.parent[0].dir
}

// remove deletes the worker's parent groups, once the job groups are gone.
func (cg *cgroups) remove() {
	cg.pending.Wait()
	for _, d := range cg.parent {
		_ = os.Remove(d.dir)
	}
}

// jobCgroup is the group of one running job.
type jobCgroup struct {
	cg    *cgroups
	dirs  []string // per parent
	limit Limits
	fd    int // v2: the open group directory for CLONE_INTO_CGROUP
}

// create makes a job's group with its limits.
func (cg *cgroups) create(name string, l Limits) (*jobCgroup, error) {
	j := &jobCgroup{cg: cg, limit: l, fd: -1}
	for _, p := range cg.parent {
		d := filepath.Join(p.dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			j.remove()
			return nil, fmt.Errorf("create the job's cgroup: %w", err)
		}
		j.dirs = append(j.dirs, d)
		if err := j.setLimits(p.ctrl, d); err != nil {
			j.remove()
			return nil, err
		}
	}
	if cg.v2 {
		fd, err := unix.Open(j.dirs[0], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			j.remove()
			return nil, err
		}
		j.fd = fd
	}
	return j, nil
}

func (j *jobCgroup) setLimits(ctrl, d string) error {
	mem := strconv.FormatInt(j.limit.MemoryBytes, 10)
	procs := strconv.Itoa(j.limit.MaxProcs)
	var files [][2]string
	switch ctrl {
	case "": // v2
		files = [][2]string{{"memory.max", mem}, {"memory.swap.max", "0"}, {"pids.max", procs},
			{"cpu.weight", strconv.Itoa(j.limit.CPUWeight)}}
	case "memory":
		files = [][2]string{{"memory.limit_in_bytes", mem}, {"memory.memsw.limit_in_bytes", mem}}
	case "pids":
		files = [][2]string{{"pids.max", procs}}
	case "cpu":
		files = [][2]string{{"cpu.shares", strconv.Itoa(max(2, j.limit.CPUWeight*1024/100))}}
	}
	for _, f := range files {
		err := os.WriteFile(filepath.Join(d, f[0]), []byte(f[1]), 0)
		if err != nil && !(errors.Is(err, os.ErrNotExist) && (f[0] == "memory.memsw.limit_in_bytes" || f[0] == "memory.swap.max")) {
			return fmt.Errorf("set %s of the job's cgroup: %w", f[0], err)
		}
	}
	return nil
}

// start runs start (which forks the job's first process) so that the
// process is born in the job's group.
func (j *jobCgroup) start(attr *syscall.SysProcAttr, start func() error) error {
	if j.cg.v2 {
		attr.UseCgroupFD, attr.CgroupFD = true, j.fd
		return start()
	}
	runtime.LockOSThread()
	tid := []byte(strconv.Itoa(unix.Gettid()))
	for i, d := range j.dirs {
		if err := os.WriteFile(filepath.Join(d, "tasks"), tid, 0); err != nil {
			if !j.leave(tid, i) {
				return err // the thread stays locked and dies with its goroutine
			}
			runtime.UnlockOSThread()
			return fmt.Errorf("enter the job's cgroup: %w", err)
		}
	}
	err := start()
	if j.leave(tid, len(j.dirs)) {
		runtime.UnlockOSThread()
	}
	// A thread that could not leave is never unlocked: Go ends a locked
	// thread when its goroutine returns, so it cannot run other work
	// under the job's limits.
	return err
}

// leave moves the thread back to the worker's groups of the first n
// controllers.
func (j *jobCgroup) leave(tid []byte, n int) bool {
	ok := true
	for _, p := range j.cg.parent[:n] {
		if os.WriteFile(filepath.Join(p.own, "tasks"), tid, 0) != nil {
			ok = false
		}
	}
	return ok
}

// oomKilled reports whether the kernel killed a process of the job for
// going over its memory limit.
func (j *jobCgroup) oomKilled() bool {
	file := "memory.oom_control"
	d := ""
	for i, p := range j.cg.parent {
		if p.ctrl == "memory" || j.cg.v2 {
			d = j.dirs[i]
		}
	}
	if j.cg.v2 {
		file = "memory.events"
	}
	if d == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(d, file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok {
			v, _ := strconv.Atoi(strings.TrimSpace(n))
			return v > 0
		}
	}
	return false
}

// remove kills whatever is left in the group and deletes it.
func (j *jobCgroup) remove() {
	if j.fd >= 0 {
		_ = unix.Close(j.fd)
		j.fd = -1
	}
	for _, d := range j.dirs {
		for try := 0; ; try++ {
			err := os.Remove(d)
			if err == nil || errors.Is(err, os.ErrNotExist) || try == 50 {
				break
			}
			killCgroup(d)
			time.Sleep(2 * time.Millisecond) // exiting tasks leave the group within moments
		}
	}
	j.dirs = nil
}

// killCgroup sends SIGKILL to every process still in group directory d.
func killCgroup(d string) {
	b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// removeStaleCgroups deletes the parent groups (and their job groups) of
// workers that are gone, beside where this worker makes its own.
func removeStaleCgroups(own, mounts map[string]string) {
	var parents []string
	if mounts["memory"] == "" && mounts["!v2"] != "" {
		parents = append(parents, filepath.Join(mounts["!v2"], own[""]))
	}
	for _, c := range v1Controllers {
		if mounts[c] != "" {
			parents = append(parents, filepath.Join(mounts[c], own[c]))
		}
	}
	for _, p := range parents {
		for _, stale := range deadWorkersDirs(p, workPrefix) {
			jobs, _ := filepath.Glob(filepath.Join(stale, "job-*"))
			for _, d := range jobs {
				killCgroup(d)
				_ = os.Remove(d)
			}
			_ = os.Remove(stale)
		}
	}
}
