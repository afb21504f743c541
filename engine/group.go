package engine

import (
	"context"
	"regexp"
	"runtime"
	"time"

	"github.com/runbooker/runbooker"
)

var groupName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidGroupName reports whether name is a usable worker group name.
func ValidGroupName(name string) error {
	if !groupName.MatchString(name) {
		return runbooker.Errorf(runbooker.EINVALID, "worker group name %q: use 1-63 lower-case letters, digits, '-' or '_'", name)
	}
	return nil
}

// CreateGroup creates a worker group and returns it with its registration
// token, which exists nowhere else afterwards.
func (e *Engine) CreateGroup(ctx context.Context, g *runbooker.WorkerGroup) (string, error) {
	if err := ValidGroupName(g.Name); err != nil {
		return "", err
	}
	if g.Name == runbooker.CloudGroup {
		return "", runbooker.Errorf(runbooker.EINVALID, "worker group %q is the built-in group", g.Name)
	}
	if err := checkGroupSettings(g); err != nil {
		return "", err
	}
	if err := e.checkTokenLimits(TokenLimits{ExpiresAt: g.TokenExpiresAt, MaxUses: g.TokenMaxUses}); err != nil {
		return "", err
	}
	g.TokenUses = 0
	token := newGroupToken()
	g.TokenHash = runbooker.HashSecret(token)
	g.CreatedAt = e.Now()
	if err := e.store.EnsureTenant(ctx, g.TenantID); err != nil {
		return "", err
	}
	if err := e.store.CreateGroup(ctx, g); err != nil {
		return "", err
	}
	return token, nil
}

func checkGroupSettings(g *runbooker.WorkerGroup) error {
	switch g.PowerShell {
	case "", "pwsh", "powershell":
	default:
		return runbooker.Errorf(runbooker.EINVALID, "powershell must be \"pwsh\" or \"powershell\" (got %q)", g.PowerShell)
	}
	if g.MaxRuntime < 0 || g.Capacity < 0 || g.SuspendAfter < 0 {
		return runbooker.Errorf(runbooker.EINVALID, "maxRuntime, capacity and suspendAfter must not be negative")
	}
	if g.MemoryLimit != 0 && g.MemoryLimit < minJobMemory {
		return runbooker.Errorf(runbooker.EINVALID, "memoryLimit must be 0 (the worker's default) or at least %d bytes (8 MiB)", int64(minJobMemory))
	}
	if g.MaxProcesses < 0 || g.CPUWeight < 0 || g.CPUWeight > 10000 {
		return runbooker.Errorf(runbooker.EINVALID, "maxProcesses must not be negative and cpuWeight must be 0 (the default) to 10000")
	}
	if g.Name == runbooker.CloudGroup && g.DefaultHybrid {
		return runbooker.Errorf(runbooker.EINVALID, "the built-in group %q cannot be the default hybrid group", g.Name)
	}
	if g.Name == runbooker.CloudGroup && g.RunAs != "" && !builtInSwitchesUsers {
		return runbooker.Errorf(runbooker.EINVALID, "runAs: the built-in group %q runs its jobs on this server, a Windows host, "+
			"which cannot switch users; run them as %q on a hybrid group of Linux workers instead", g.Name, g.RunAs)
	}
	return nil
}

// builtInSwitchesUsers says whether this server's built-in agent can run
// jobs as a group's RunAs user: only on Linux and other Unix systems.
var builtInSwitchesUsers = runtime.GOOS != "windows"

// minJobMemory is the smallest memory limit a group may set: below it not
// even an interpreter starts.
const minJobMemory = 8 << 20

// UpdateGroup replaces a group's settings (not its name or token). The
// built-in group "cloud" takes settings like any other (RunAs, limits); its
// settings row is made on first use and has no registration token.
func (e *Engine) UpdateGroup(ctx context.Context, g *runbooker.WorkerGroup) error {
	if err := checkGroupSettings(g); err != nil {
		return err
	}
	old, err := e.store.Group(ctx, g.TenantID, g.Name)
	if g.Name == runbooker.CloudGroup && runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		g.TokenHash, g.CreatedAt = "", e.Now()
		if err := e.store.EnsureTenant(ctx, g.TenantID); err != nil {
			return err
		}
		return e.store.CreateGroup(ctx, g)
	}
	if err != nil {
		return err
	}
	g.TokenHash, g.CreatedAt = old.TokenHash, old.CreatedAt
	g.TokenExpiresAt, g.TokenMaxUses, g.TokenUses = old.TokenExpiresAt, old.TokenMaxUses, old.TokenUses
	return e.store.UpdateGroup(ctx, g)
}

// newGroupToken returns a registration token; the "rbg_" prefix makes it
// recognisable to secret scanners.
func newGroupToken() string { return "rbg_" + runbooker.NewSecret() }

// TokenLimits bound what a registration token may do: register until
// ExpiresAt (zero: no expiry), at most MaxUses workers (0: no limit).
type TokenLimits struct {
	ExpiresAt time.Time
	MaxUses   int
}

func (e *Engine) checkTokenLimits(l TokenLimits) error {
	if l.MaxUses < 0 {
		return runbooker.Errorf(runbooker.EINVALID, "the token's maximum uses must not be negative (0: no limit)")
	}
	if !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(e.Now()) {
		return runbooker.Errorf(runbooker.EINVALID, "the token's expiry %s is not in the future", l.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// RotateGroupToken gives a group a new registration token with the given
// limits; the old one stops working at once (registered workers keep their
// own credentials), and the new one's uses count from 0.
func (e *Engine) RotateGroupToken(ctx context.Context, tenantID, name string, limits TokenLimits) (string, *runbooker.WorkerGroup, error) {
	if name == runbooker.CloudGroup {
		return "", nil, runbooker.Errorf(runbooker.EINVALID, "the built-in group %q runs inside the server: no worker registers with it", name)
	}
	if err := e.checkTokenLimits(limits); err != nil {
		return "", nil, err
	}
	g, err := e.store.Group(ctx, tenantID, name)
	if err != nil {
		return "", nil, err
	}
	token := newGroupToken()
	g.TokenHash = runbooker.HashSecret(token)
	g.TokenExpiresAt, g.TokenMaxUses, g.TokenUses = limits.ExpiresAt.UTC(), limits.MaxUses, 0
	if limits.ExpiresAt.IsZero() {
		g.TokenExpiresAt = time.Time{}
	}
	if err := e.store.UpdateGroup(ctx, g); err != nil {
		return "", nil, err
	}
	return token, g, nil
}

// Group returns a worker group of a tenant. The built-in group "cloud"
// always exists: with default settings until some are set.
func (e *Engine) Group(ctx context.Context, tenantID, name string) (*runbooker.WorkerGroup, error) {
	g, err := e.store.Group(ctx, tenantID, name)
	if name == runbooker.CloudGroup && runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return &runbooker.WorkerGroup{TenantID: tenantID, Name: name}, nil
	}
	return g, err
}

// DeleteGroup removes an empty worker group; the built-in one stays.
func (e *Engine) DeleteGroup(ctx context.Context, tenantID, name string) error {
	if name == runbooker.CloudGroup {
		return runbooker.Errorf(runbooker.EINVALID, "the built-in group %q cannot be deleted (PUT default settings instead)", name)
	}
	return e.store.DeleteGroup(ctx, tenantID, name)
}

// ListGroups lists a tenant's worker groups, the built-in one first.
func (e *Engine) ListGroups(ctx context.Context, tenantID string) ([]*runbooker.WorkerGroup, error) {
	groups, err := e.store.ListGroups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for i, g := range groups {
		if g.Name == runbooker.CloudGroup {
			return append(append([]*runbooker.WorkerGroup{g}, groups[:i]...), groups[i+1:]...), nil
		}
	}
	return append([]*runbooker.WorkerGroup{{TenantID: tenantID, Name: runbooker.CloudGroup}}, groups...), nil
}

// DispatchGroup returns a worker group's settings for a job handed to one
// of its workers: from the engine's cache, at most a few seconds old when
// another replica changed them (at once when this one did), so a dispatch
// costs no store read. The value is shared: do not modify it.
func (e *Engine) DispatchGroup(ctx context.Context, tenantID, name string) (*runbooker.WorkerGroup, error) {
	return e.store.group(ctx, tenantID, name)
}
