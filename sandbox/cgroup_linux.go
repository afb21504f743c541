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
	"sync/atomic"
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
// after it started would leave out whatever it forked meanwhile; so each
// job group has a thread of the worker's living in it (a forker), which
// starts the job's first process there.
type cgroups struct {
	v2      bool
	parent  []cgroupDir    // v1: one per controller; v2: one
	pending sync.WaitGroup // job groups being recycled or removed
	seq     atomic.Uint64  // names new job groups

	mu     sync.Mutex
	idle   []*jobCgroup // emptied job groups for later jobs
	closed bool
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
	cg.mu.Lock()
	idle := cg.idle
	cg.idle, cg.closed = nil, true
	cg.mu.Unlock()
	for _, j := range idle {
		j.remove()
	}
	for _, d := range cg.parent {
		_ = os.Remove(d.dir)
	}
}

// jobCgroup is the group of one job. Making and removing a group costs
// the kernel more than a trivial job's whole run (on v1 about 0.3 ms for
// three directories and their limits, and as much again to remove them),
// so a job's group is kept when the job is over and handed to the next job
// once it is empty (see recycle).
type jobCgroup struct {
	cg      *cgroups
	dirs    []string // per parent
	limit   Limits   // as written to the group
	fd      int      // v2: the open group directory for CLONE_INTO_CGROUP
	oomBase int      // the group's OOM kill count when this job got it
	forker  *forker  // v1: the thread that starts the job's first process

	// Kept open: a read through an open file costs a fraction of opening
	// a control file by its path, which every job would do twice.
	oomFile  *os.File // memory.events (v2) or memory.oom_control (v1)
	pidsFile *os.File // pids.current
}

// maxIdleGroups bounds the emptied groups a worker keeps for later jobs.
const maxIdleGroups = 64

// take hands a job a group with limits l: an emptied one if there is one,
// else a new one.
func (cg *cgroups) take(l Limits) (*jobCgroup, error) {
	cg.mu.Lock()
	var j *jobCgroup
	if n := len(cg.idle); n > 0 {
		j, cg.idle = cg.idle[n-1], cg.idle[:n-1]
	}
	cg.mu.Unlock()
	if j == nil {
		return cg.create("job-"+strconv.FormatUint(cg.seq.Add(1), 10)+"-"+randomSuffix(), l)
	}
	if j.limit != l {
		if err := j.setLimits(l); err != nil {
			j.remove()
			return nil, err
		}
	}
	return j, nil
}

// create makes a job's group with its limits.
func (cg *cgroups) create(name string, l Limits) (*jobCgroup, error) {
	j := &jobCgroup{cg: cg, fd: -1}
	for _, p := range cg.parent {
		d := filepath.Join(p.dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			j.remove()
			return nil, fmt.Errorf("create the job's cgroup: %w", err)
		}
		j.dirs = append(j.dirs, d)
	}
	if cg.v2 {
		fd, err := unix.Open(j.dirs[0], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			j.remove()
			return nil, err
		}
		j.fd = fd
	} else {
		owns := make([]string, len(cg.parent))
		for i, p := range cg.parent {
			owns[i] = p.own
		}
		f, err := startForker(j.dirs, owns)
		if err != nil {
			j.remove()
			return nil, fmt.Errorf("enter the job's cgroup: %w", err)
		}
		j.forker = f
	}
	if err := j.setLimits(l); err != nil {
		j.remove()
		return nil, err
	}
	for i, p := range cg.parent {
		var err error
		if cg.v2 || p.ctrl == "memory" {
			name := "memory.oom_control"
			if cg.v2 {
				name = "memory.events"
			}
			if j.oomFile, err = os.Open(filepath.Join(j.dirs[i], name)); err != nil {
				j.remove()
				return nil, err
			}
		}
		if cg.v2 || p.ctrl == "pids" {
			if j.pidsFile, err = os.Open(filepath.Join(j.dirs[i], "pids.current")); err != nil {
				j.remove()
				return nil, err
			}
		}
	}
	return j, nil
}

// readControl reads a control file of the group from its start.
func readControl(f *os.File) (string, error) {
	var buf [512]byte
	n, err := f.ReadAt(buf[:], 0)
	if n > 0 {
		err = nil
	}
	return string(buf[:n]), err
}

// setLimits writes the limits of l that differ from the group's to it.
func (j *jobCgroup) setLimits(l Limits) error {
	mem := strconv.FormatInt(l.MemoryBytes, 10)
	procs := strconv.Itoa(l.MaxProcs)
	if j.forker != nil {
		procs = strconv.Itoa(l.MaxProcs + 1) // the forker thread counts too
	}
	memNew, procsNew, cpuNew := l.MemoryBytes != j.limit.MemoryBytes, l.MaxProcs != j.limit.MaxProcs, l.CPUWeight != j.limit.CPUWeight
	for i, p := range j.cg.parent {
		var files [][2]string
		switch p.ctrl {
		case "": // v2
			if memNew {
				files = append(files, [2]string{"memory.max", mem}, [2]string{"memory.swap.max", "0"})
			}
			if procsNew {
				files = append(files, [2]string{"pids.max", procs})
			}
			if cpuNew {
				files = append(files, [2]string{"cpu.weight", strconv.Itoa(l.CPUWeight)})
			}
		case "memory":
			if !memNew {
				break
			}
			// The combined limit may not go below the memory limit: lower
			// the memory limit first when shrinking, the combined one first
			// when growing.
			files = [][2]string{{"memory.limit_in_bytes", mem}, {"memory.memsw.limit_in_bytes", mem}}
			if l.MemoryBytes > j.limit.MemoryBytes && j.limit.MemoryBytes > 0 {
				files[0], files[1] = files[1], files[0]
			}
		case "pids":
			if procsNew {
				files = [][2]string{{"pids.max", procs}}
			}
		case "cpu":
			if cpuNew {
				files = [][2]string{{"cpu.shares", strconv.Itoa(max(2, l.CPUWeight*1024/100))}}
			}
		}
		for _, f := range files {
			err := os.WriteFile(filepath.Join(j.dirs[i], f[0]), []byte(f[1]), 0)
			if err != nil && !(errors.Is(err, os.ErrNotExist) && (f[0] == "memory.memsw.limit_in_bytes" || f[0] == "memory.swap.max")) {
				j.limit = Limits{} // partly written: write everything next time
				return fmt.Errorf("set %s of the job's cgroup: %w", f[0], err)
			}
		}
	}
	j.limit = l
	return nil
}

// start runs start (which forks the job's first process) so that the
// process is born in the job's group.
func (j *jobCgroup) start(attr *syscall.SysProcAttr, start func() error) error {
	if j.cg.v2 {
		attr.UseCgroupFD, attr.CgroupFD = true, j.fd
		return start()
	}
	return j.forker.run(start)
}

// A forker is a thread that lives in one job group (cgroup v1, which has
// no CLONE_INTO_CGROUP): the processes it starts are born in the group, and
// it moves into the group once rather than in and out for every job. It is
// never the process's main thread, whose group decides where the memory of
// the whole process is charged. A child's Pdeathsig fires when the thread
// that started it ends: the forker ends only with its group, which holds
// no process by then.
type forker struct {
	reqs chan func() error
	errs chan error
	done chan struct{} // closed when the thread has left the groups (or is gone)
}

// startForker starts a forker thread in the groups dirs; owns are the
// worker's own groups it returns to when it stops, controller by
// controller.
func startForker(dirs, owns []string) (*forker, error) {
	f := &forker{reqs: make(chan func() error), errs: make(chan error), done: make(chan struct{})}
	ready := make(chan error)
	go f.loop(dirs, owns, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return f, nil
}

func (f *forker) loop(dirs, owns []string, ready chan<- error) {
	runtime.LockOSThread()
	// Returning locked ends the thread: the runtime never hands a thread
	// that was in a job's group to other goroutines.
	if unix.Gettid() == unix.Getpid() {
		// The main thread: held here while another goroutine gets (and
		// locks) a thread of its own, which therefore cannot be this one.
		inner := make(chan error)
		go f.loop(dirs, owns, inner)
		err := <-inner
		runtime.UnlockOSThread()
		ready <- err
		return
	}
	defer close(f.done)
	tid := []byte(strconv.Itoa(unix.Gettid()))
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "tasks"), tid, 0); err != nil {
			leave(owns, tid)
			ready <- err
			return
		}
	}
	ready <- nil
	for start := range f.reqs {
		f.errs <- start()
	}
	leave(owns, tid)
}

// leave moves a forker's thread back to the worker's own groups owns, so
// that the job groups can be removed at once. (Were a move to fail, the
// thread would still leave them when it ends, moments later.)
func leave(owns []string, tid []byte) {
	for _, d := range owns {
		_ = os.WriteFile(filepath.Join(d, "tasks"), tid, 0)
	}
}

// run calls start on the forker's thread.
func (f *forker) run(start func() error) error {
	f.reqs <- start
	return <-f.errs
}

// stop ends the forker's thread, once it has left the groups.
func (f *forker) stop() {
	close(f.reqs)
	<-f.done
}

// oomKilled reports whether the kernel killed a process of the job for
// going over its memory limit.
func (j *jobCgroup) oomKilled() bool { return j.oomKills() > j.oomBase }

// oomKills reads how many processes the kernel has killed in the group for
// going over its memory limit.
func (j *jobCgroup) oomKills() int {
	if j.oomFile == nil {
		return 0
	}
	text, err := readControl(j.oomFile)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(text, "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok {
			v, _ := strconv.Atoi(strings.TrimSpace(n))
			return v
		}
	}
	return 0
}

// recycle keeps the group of a job that is over for a later job when it is
// empty (every process of the job is gone, as when the job's PID namespace
// ended) and fewer than maxIdleGroups are kept; else it removes it.
func (j *jobCgroup) recycle() {
	if !j.empty() {
		j.remove()
		return
	}
	j.oomBase = j.oomKills()
	cg := j.cg
	cg.mu.Lock()
	if !cg.closed && len(cg.idle) < maxIdleGroups {
		cg.idle = append(cg.idle, j)
		j = nil
	}
	cg.mu.Unlock()
	if j != nil {
		j.remove()
	}
}

// empty reports whether no task is left in the group but the forker.
func (j *jobCgroup) empty() bool {
	if j.pidsFile == nil {
		return false
	}
	text, err := readControl(j.pidsFile)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(text))
	want := 0
	if j.forker != nil {
		want = 1
	}
	return err == nil && n == want
}

// remove kills whatever is left in the group and deletes it.
func (j *jobCgroup) remove() {
	if j.fd >= 0 {
		_ = unix.Close(j.fd)
		j.fd = -1
	}
	if j.forker != nil {
		j.forker.stop()
		j.forker = nil
	}
	for _, f := range []*os.File{j.oomFile, j.pidsFile} {
		if f != nil {
			_ = f.Close()
		}
	}
	j.oomFile, j.pidsFile = nil, nil
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
		// On v1 a forker's thread lists the worker itself: never kill it.
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 && pid != os.Getpid() {
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
