package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/runbooker/runbooker/agent"
	"github.com/runbooker/runbooker/sandbox"
)

// IsolationFlags are the job isolation settings serve and worker share.
type IsolationFlags struct {
	Mode        string
	UIDBase     uint
	MemoryLimit string // bytes, with an optional KiB/MiB/GiB suffix
	MaxProcs    int
	CPUWeight   int
	// WarmBash is how many Bash interpreters are kept started ahead of
	// their jobs (0: none; a ServeConfig built in code keeps none unless
	// it says so).
	WarmBash int
}

// defaultWarmBash is --warm-bash's default: one for a job that comes while
// another takes the last one's place.
const defaultWarmBash = 2

// maxWarmBash bounds --warm-bash: each one holds a job user id, a cgroup
// and a process while it waits.
const maxWarmBash = 64

func addIsolationFlags(fs *flag.FlagSet, c *IsolationFlags) {
	fs.StringVar(&c.Mode, "isolation", sandbox.IsolationAuto,
		"job isolation: auto (every protection the machine offers), strict (refuse to start without all of them), off")
	fs.UintVar(&c.UIDBase, "job-uid-base", sandbox.DefaultUIDBase, "first of the user ids jobs run as, one per running job (as root)")
	fs.StringVar(&c.MemoryLimit, "job-memory", "2GiB", "memory limit of a job unless its group sets one (cgroups)")
	fs.IntVar(&c.MaxProcs, "job-max-procs", sandbox.DefaultMaxProcs, "processes a job may have at once unless its group sets it (cgroups)")
	fs.IntVar(&c.CPUWeight, "job-cpu-weight", sandbox.DefaultCPUWeight, "CPU weight of a job unless its group sets one, 1-10000 (cgroups)")
	fs.IntVar(&c.WarmBash, "warm-bash", defaultWarmBash,
		"Bash interpreters kept started, isolated and waiting, so that a Bash job skips bash's start-up (0: none)")
}

func (c IsolationFlags) config(hide []string) (sandbox.IsolationConfig, error) {
	// Zero values (a ServeConfig built in code) mean the defaults.
	if c.MemoryLimit == "" {
		c.MemoryLimit = strconv.Itoa(sandbox.DefaultMemoryLimit)
	}
	if c.MaxProcs == 0 {
		c.MaxProcs = sandbox.DefaultMaxProcs
	}
	if c.CPUWeight == 0 {
		c.CPUWeight = sandbox.DefaultCPUWeight
	}
	if c.UIDBase == 0 {
		c.UIDBase = sandbox.DefaultUIDBase
	}
	mem, err := parseBytes(c.MemoryLimit)
	if err != nil {
		return sandbox.IsolationConfig{}, fmt.Errorf("--job-memory: %v", err)
	}
	if c.WarmBash < 0 || c.WarmBash > maxWarmBash {
		return sandbox.IsolationConfig{}, fmt.Errorf("--warm-bash %d: choose 0 (none) to %d", c.WarmBash, maxWarmBash)
	}
	if c.MaxProcs < 1 || c.CPUWeight < 1 || c.CPUWeight > 10000 {
		return sandbox.IsolationConfig{}, fmt.Errorf("--job-max-procs must be at least 1 and --job-cpu-weight 1-10000")
	}
	if c.UIDBase < 1000 || c.UIDBase > 1<<31 {
		return sandbox.IsolationConfig{}, fmt.Errorf("--job-uid-base %d: choose an unused range above the ids of real accounts (such as 200000)", c.UIDBase)
	}
	return sandbox.IsolationConfig{Mode: c.Mode, UIDBase: uint32(c.UIDBase), Hide: hide,
		Limits: sandbox.Limits{MemoryBytes: mem, MaxProcs: c.MaxProcs, CPUWeight: c.CPUWeight}}, nil
}

// parseBytes reads "2GiB", "512MiB", "64KiB" or a plain byte count.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (such as 2GiB or 512MiB)", s)
	}
	return n * mult, nil
}

// setUpJobs resolves the interpreters, isolates jobs as far as the machine
// allows (saying plainly which protections are active) and writes the
// helpers runbooks call. hide lists what jobs must never see.
func setUpJobs(jobDir string, f IsolationFlags, hide []string, log *slog.Logger) (sandbox.Interpreters, agent.Support, error) {
	cfg, err := f.config(hide)
	if err != nil {
		return sandbox.Interpreters{}, agent.Support{}, err
	}
	in := interpreters(jobDir)
	if in.Bash == "" && in.BashRefused != "" {
		log.Warn("no bash for runbooks: the one on PATH is WSL's, which cannot pass parameters and assets; put Git Bash on PATH",
			"wsl_bash", in.BashRefused)
	}
	ps, err := in.Isolate(cfg)
	for _, p := range ps {
		if p.Active {
			log.Info("job isolation", "protection", p.Name, "active", true, "detail", p.Detail)
		} else {
			log.Warn("job isolation", "protection", p.Name, "active", false, "detail", p.Detail)
		}
	}
	if err != nil {
		return sandbox.Interpreters{}, agent.Support{}, err
	}
	in.KeepWarm(f.WarmBash)
	sup, err := agent.WriteSupport(in.SupportDir())
	if err != nil {
		in.Close()
		return sandbox.Interpreters{}, agent.Support{}, fmt.Errorf("writing runbook helpers: %w", err)
	}
	return in, sup, nil
}
