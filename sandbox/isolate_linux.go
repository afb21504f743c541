package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// isolation is what Isolate set up for one worker on Linux.
type isolation struct {
	jail   *jail    // nil: jobs see the host's file system
	uids   *uidPool // nil: jobs run as the worker's user (or RunAs)
	cg     *cgroups // nil: no per-job limits
	pidns  bool     // each job in a PID namespace of its own
	limits Limits   // defaults for jobs without their own
}

// Isolate sets up the worker's work directory and, as far as the machine
// allows, the isolation of its jobs (see IsolationConfig). It returns what
// is active; in strict mode it fails, naming what is missing, unless
// everything is. Call Close when the worker stops.
func (in *Interpreters) Isolate(cfg IsolationConfig) (Protections, error) {
	if err := in.setUpWork(); err != nil {
		return nil, err
	}
	work := in.work
	switch cfg.Mode {
	case "", IsolationAuto, IsolationStrict:
	case IsolationOff:
		return Protections{{Name: "isolation", Detail: "turned off: jobs run as the worker's user and can read what it can"}}, nil
	default:
		return nil, fmt.Errorf("unknown isolation mode %q (want auto, strict or off)", cfg.Mode)
	}
	strict := cfg.Mode == IsolationStrict
	if os.Geteuid() != 0 {
		ps := Protections{
			{Name: "job users", Detail: "the worker does not run as root: jobs run as its own user"},
			{Name: "PID namespaces", Detail: "need root"},
			{Name: "file system jail", Detail: "needs root: jobs can read what the worker can"},
			{Name: "cgroup limits", Detail: "need root"},
		}
		if strict {
			return ps, fmt.Errorf("--isolation strict: the worker must run as root to isolate jobs")
		}
		return ps, nil
	}
	iso := &isolation{limits: cfg.Limits.withDefaults(Limits{})}
	var ps Protections
	base, count := cfg.UIDBase, cfg.UIDCount
	if base == 0 {
		base = DefaultUIDBase
	}
	if count <= 0 {
		count = DefaultUIDCount
	}
	if !othersCanEnter(work) {
		_ = os.RemoveAll(work)
		in.work = ""
		return nil, fmt.Errorf("job users could not reach their directories under %s: a directory on the way is not searchable by others (chmod o+x, or choose another --job-dir)", filepath.Dir(work))
	}
	iso.uids = newUIDPool(base, count)
	ps = append(ps, Protection{Name: "job users", Active: true,
		Detail: fmt.Sprintf("uid/gid %d-%d, one per running job (the group's RunAs user where one is set)", base, base+uint32(count)-1)})

	if err := tryPIDNamespace(in.Bash); err != nil {
		ps = append(ps, Protection{Name: "PID namespaces", Detail: err.Error()})
	} else {
		iso.pidns = true
		ps = append(ps, Protection{Name: "PID namespaces", Active: true,
			Detail: "one per job; when the runbook's process ends, everything it started ends with it"})
	}
	hide := hiddenPaths(cfg.Hide)
	if j, err := buildJail(work, hide); err != nil {
		ps = append(ps, Protection{Name: "file system jail", Detail: err.Error()})
	} else {
		iso.jail = j
		ps = append(ps, Protection{Name: "file system jail", Active: true,
			Detail: "read-only nosuid view of /, private /proc (hidepid), writable job directory only; hidden: " + hiddenList(hide)})
	}
	if cg, err := setupCgroups(filepath.Base(work)); err != nil {
		ps = append(ps, Protection{Name: "cgroup limits", Detail: err.Error()})
	} else {
		iso.cg = cg
		l := iso.limits
		ps = append(ps, Protection{Name: "cgroup limits", Active: true, Detail: fmt.Sprintf(
			"%s; defaults memory %s, %d processes, CPU weight %d", cg.describe(), formatBytes(l.MemoryBytes), l.MaxProcs, l.CPUWeight)})
	}
	in.iso = iso
	if note := in.interpretersForJobs(); note != "" {
		ps = append(ps, Protection{Name: "interpreters", Active: true, Detail: note})
	}
	if strict && !ps.All() {
		in.Close()
		return ps, fmt.Errorf("--isolation strict: missing %s", ps.Missing())
	}
	return ps, nil
}

func hiddenList(paths []string) string {
	if len(paths) == 0 {
		return "nothing"
	}
	return strings.Join(paths, ", ")
}

// tryPIDNamespace starts one process in a new PID namespace.
func tryPIDNamespace(bash string) error {
	if bash == "" {
		bash = "/bin/sh"
	}
	cmd := exec.Command(bash, "-c", ":")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot create a PID namespace: %w", err)
	}
	return nil
}

// Close removes the worker's work directory, jail and cgroups. Jobs must
// have ended.
func (in Interpreters) Close() {
	in.warm.close()
	if iso := in.iso; iso != nil {
		if iso.jail != nil {
			iso.jail.destroy()
		}
		if iso.cg != nil {
			iso.cg.remove()
		}
	}
	in.sweep.close()
	if in.work != "" {
		removeJobDir(in.work)
	}
}

// jobLease is what one job holds of the worker's isolation while it runs.
type jobLease struct {
	iso    *isolation
	uid    uint32
	pooled bool
	cred   *Credential
	cg     *jobCgroup
	limits Limits
}

// lease takes a user id and a cgroup for a job.
func (iso *isolation) lease(spec Spec) (*jobLease, error) {
	if iso == nil {
		return nil, nil
	}
	l := &jobLease{iso: iso, limits: iso.limitsFor(spec.Limits)}
	switch {
	case spec.RunAs != nil && spec.RunAs.UID == 0:
		return nil, errors.New("the worker group's RunAs user is root: an isolated job may not run as root")
	case spec.RunAs != nil:
		l.cred = spec.RunAs
	case iso.uids != nil:
		uid, ok := iso.uids.acquire()
		if !ok {
			return nil, fmt.Errorf("all %d job user ids are in use: raise the range or lower the worker's capacity", iso.uids.size())
		}
		l.uid, l.pooled = uid, true
		l.cred = &Credential{UID: uid, GID: uid, Groups: []uint32{}}
	}
	if iso.cg != nil {
		cg, err := iso.cg.take(l.limits)
		if err != nil {
			l.release()
			return nil, err
		}
		l.cg = cg
	}
	return l, nil
}

// limitsFor are a job's limits: l, its zero fields the worker's defaults.
func (iso *isolation) limitsFor(l Limits) Limits {
	if iso == nil {
		return l.withDefaults(Limits{})
	}
	return l.withDefaults(iso.limits)
}

// setLimits gives the job limits l where it has a cgroup whose limits
// differ (a warm start took its group before the job was known). It reports
// whether the group has them.
func (l *jobLease) setLimits(lim Limits) bool {
	if l == nil || l.cg == nil || l.limits == lim {
		return true
	}
	if l.cg.setLimits(lim) != nil {
		return false
	}
	l.limits = lim
	return true
}

// apply adds the chroot and the namespaces to a job's process attributes.
func (l *jobLease) apply(attr *syscall.SysProcAttr) {
	if l == nil {
		return
	}
	if l.iso.jail != nil {
		attr.Chroot = l.iso.jail.root
	}
	if l.iso.pidns {
		attr.Cloneflags |= unix.CLONE_NEWPID
	}
}

// start runs start so that the process begins inside the job's cgroup.
func (l *jobLease) start(attr *syscall.SysProcAttr, start func() error) error {
	if l == nil || l.cg == nil {
		return start()
	}
	return l.cg.start(attr, start)
}

// forker is the thread that starts the job's processes in its cgroup (v1),
// or nil where any thread may.
func (l *jobLease) forker() *forker {
	if l == nil || l.cg == nil {
		return nil
	}
	return l.cg.forker
}

// prepare sets what start would in attr, for a start on the forker's
// thread (or any thread when there is none).
func (l *jobLease) prepare(attr *syscall.SysProcAttr) {
	if l != nil && l.cg != nil && l.cg.cg.v2 {
		attr.UseCgroupFD, attr.CgroupFD = true, l.cg.fd
	}
}

// ownNamespace reports whether the job's first process leads its own PID
// namespace (where, as PID 1, it ignores signals it has no handler for).
func (l *jobLease) ownNamespace() bool { return l != nil && l.iso.pidns }

// oomKilled reports whether the job hit its memory limit.
func (l *jobLease) oomKilled() bool { return l != nil && l.cg != nil && l.cg.oomKilled() }

// memoryLimit is the job's memory limit when one is enforced.
func (l *jobLease) memoryLimit() int64 {
	if l == nil || l.cg == nil {
		return 0
	}
	return l.limits.MemoryBytes
}

// release gives back the cgroup and the user id; every process of the job
// must be gone. The id is free at once (the job's PID namespace is empty);
// the cgroup is recycled in the background, so that the job's end does not
// wait for the check that it is empty (or for its removal when it is not).
func (l *jobLease) release() {
	if l == nil {
		return
	}
	if l.cg != nil {
		cg := l.cg
		cg.cg.pending.Add(1)
		go func() {
			defer cg.cg.pending.Done()
			cg.recycle()
		}()
	}
	if l.pooled {
		l.iso.uids.release(l.uid)
	}
}

// credential is the identity the job runs as (nil: the worker's).
func (l *jobLease) credential(fallback *Credential) *Credential {
	if l == nil || l.cred == nil {
		return fallback
	}
	return l.cred
}

// catchesSignal reports whether process pid has a handler for sig.
func catchesSignal(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			var mask uint64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%x", &mask); err != nil {
				return true
			}
			return mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return true
}
