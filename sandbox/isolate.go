package sandbox

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Isolation modes (IsolationConfig.Mode).
const (
	// IsolationAuto uses every protection the machine offers and says which
	// are missing.
	IsolationAuto = "auto"
	// IsolationStrict refuses to run jobs unless every protection is active.
	IsolationStrict = "strict"
	// IsolationOff runs jobs as the worker's own user in a process group
	// only (what a developer running unprivileged gets anyway).
	IsolationOff = "off"
)

// Default per-job limits, used where a worker group sets none.
const (
	DefaultMemoryLimit = 2 << 30 // bytes
	DefaultMaxProcs    = 1024
	DefaultCPUWeight   = 100 // cgroup v2 scale, 1..10000; v1 shares are weight×1024/100
	// DefaultUIDBase is the first of the unprivileged user ids jobs run as,
	// one per running job, far above the ids of real accounts.
	DefaultUIDBase = 200000
	// DefaultUIDCount is how many such ids there are: the most jobs one
	// worker runs at once.
	DefaultUIDCount = 1024
)

// IsolationConfig says how jobs are kept apart from the worker and from each
// other. Isolation needs Linux and root: each job then runs under a user id
// of its own (or its group's RunAs identity), in a PID namespace of its own
// whose first process is the runbook (when it ends, the kernel kills every
// process the job left behind, setsid and double forks included), inside a
// read-only view of the file system with a private /proc (hidepid) where
// only its job directory is writable and the Hide paths are empty, and in a
// cgroup with memory, process-count and CPU-weight limits.
type IsolationConfig struct {
	Mode string // IsolationAuto (default), IsolationStrict or IsolationOff
	// UIDBase and UIDCount give the range of user (and group) ids jobs run
	// as; zero means DefaultUIDBase and DefaultUIDCount.
	UIDBase  uint32
	UIDCount int
	// Hide lists paths a job must not see at all: the data directory, the
	// master key, a worker's state directory, TLS keys. In the job's view a
	// directory there is empty and a file is empty.
	Hide []string
	// Limits are the defaults for jobs whose Spec sets none.
	Limits Limits
}

// Limits are the resources one job may use. Zero fields mean the defaults.
// They are enforced where cgroups are available.
type Limits struct {
	MemoryBytes int64 // memory including page cache the job dirties
	MaxProcs    int   // processes and threads at once (a fork bomb stops here)
	CPUWeight   int   // share of CPU under contention, 1..10000 (100 is even)
}

// withDefaults fills zero fields from d, then from the package defaults.
func (l Limits) withDefaults(d Limits) Limits {
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = d.MemoryBytes
	}
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = DefaultMemoryLimit
	}
	if l.MaxProcs <= 0 {
		l.MaxProcs = d.MaxProcs
	}
	if l.MaxProcs <= 0 {
		l.MaxProcs = DefaultMaxProcs
	}
	if l.CPUWeight <= 0 {
		l.CPUWeight = d.CPUWeight
	}
	if l.CPUWeight <= 0 {
		l.CPUWeight = DefaultCPUWeight
	}
	l.CPUWeight = min(max(l.CPUWeight, 1), 10000)
	return l
}

// Protection is one protection and whether it is active.
type Protection struct {
	Name   string
	Active bool
	Detail string // what is enforced, or why it is missing
}

// Protections is what Isolate could set up, for the start-up log.
type Protections []Protection

// All reports whether every protection is active.
func (p Protections) All() bool {
	for _, x := range p {
		if !x.Active {
			return false
		}
	}
	return len(p) > 0
}

// Missing lists the inactive protections with their reasons.
func (p Protections) Missing() string {
	var out []string
	for _, x := range p {
		if !x.Active {
			out = append(out, x.Name+" ("+x.Detail+")")
		}
	}
	return strings.Join(out, "; ")
}

// String is one line per protection, "on"/"OFF" first.
func (p Protections) String() string {
	var b strings.Builder
	for _, x := range p {
		state := "on "
		if !x.Active {
			state = "OFF"
		}
		fmt.Fprintf(&b, "%s %s: %s\n", state, x.Name, x.Detail)
	}
	return b.String()
}

// hiddenPaths makes the Hide paths absolute and keeps the outermost ones:
// a path inside another is covered with it.
func hiddenPaths(paths []string) []string {
	var abs []string
	for _, p := range paths {
		if a, err := filepath.Abs(p); p != "" && err == nil && !slices.Contains(abs, a) {
			abs = append(abs, a)
		}
	}
	var out []string
	for _, p := range abs {
		if !slices.ContainsFunc(abs, func(q string) bool { return q != p && within(p, q) }) {
			out = append(out, p)
		}
	}
	return out
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}
