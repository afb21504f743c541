package agent

import (
	"embed"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

//go:embed support
var supportFiles embed.FS

// Support is the per-worker directory of helpers runbooks reach assets
// with: the automationassets Python module and the automation-asset CLI.
type Support struct {
	Dir string
}

// WriteSupport writes the helper files into dir (created, mode 0755). The
// sandbox's SupportDir is the place: readable by every job identity,
// writable by none.
func WriteSupport(dir string) (Support, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Support{}, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return Support{}, err
	}
	for name, mode := range map[string]os.FileMode{"automationassets.py": 0o644, AssetHelper: 0o755} {
		b, err := supportFiles.ReadFile("support/" + name)
		if err != nil {
			return Support{}, err
		}
		if err := os.WriteFile(filepath.Join(abs, name), b, mode); err != nil {
			return Support{}, err
		}
		if err := os.Chmod(filepath.Join(abs, name), mode); err != nil {
			return Support{}, err
		}
	}
	return Support{Dir: abs}, nil
}

// AssetHelper is the command Bash runbooks read assets with.
const AssetHelper = "automation-asset"

// Preparer returns an agent Prepare func that gives each job the asset
// channel (its token bound to the job's processes once they start), the
// managed-identity endpoint when its tenant has one, and the helpers, and
// applies its group's RunAs user.
func Preparer(ch *Channel, sup Support) func(as runbooker.Assignment, spec *sandbox.Spec) (func(), error) {
	return func(as runbooker.Assignment, spec *sandbox.Spec) (func(), error) {
		g := as.Group
		if g != nil && g.RunAs != "" {
			cred, err := runAs(g.RunAs)
			if err != nil {
				return nil, err
			}
			spec.RunAs = cred
		}
		env, bind, revoke := ch.Open(as.Job, as.Identity)
		if spec.Env == nil {
			spec.Env = map[string]string{}
		}
		for k, v := range env {
			spec.Env[k] = v
		}
		started := spec.OnStart
		spec.OnStart = func(pid int) {
			bind(pid)
			if started != nil {
				started(pid)
			}
		}
		if sup.Dir != "" {
			spec.Env["PYTHONPATH"] = sup.Dir
			spec.PathDirs = append(spec.PathDirs, sup.Dir)
			spec.Helpers = append(spec.Helpers, AssetHelper)
		}
		return revoke, nil
	}
}

// runAs resolves a RunAs user name to the identity the sandbox switches to.
func runAs(name string) (*sandbox.Credential, error) {
	if runtime.GOOS == "windows" {
		return nil, fmt.Errorf("the worker group runs jobs as %q, but RunAs is supported on Linux workers only", name)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the worker group runs jobs as %q, but this worker does not run as root and cannot switch users", name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("the worker group runs jobs as %q, but that user does not exist on this worker", name)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("RunAs user %q has a non-numeric uid/gid", name)
	}
	return &sandbox.Credential{UID: uint32(uid), GID: uint32(gid)}, nil
}
