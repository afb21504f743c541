package engine

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/modfile"
	"github.com/runbooker/runbooker/psparse"
	"github.com/runbooker/runbooker/pyparse"
)

// UploadModuleParams is one uploaded module or package file.
type UploadModuleParams struct {
	TenantID string
	FileName string // the upload's file name; tells a wheel by ".whl"
	Content  []byte
	// Kind, Name and Version, when set (PUT /modules/{kind}/{name}/{version}),
	// must agree with what the file says of itself.
	Kind    runbooker.ModuleKind
	Name    string
	Version string
}

// ModuleLimits are the limits an uploaded archive is read and unpacked
// under, on the server and on every worker alike.
func (e *Engine) ModuleLimits() modfile.Limits {
	return modfile.Limits{MaxBytes: 10 * e.cfg.ModuleMaxBytes}
}

// UploadModule reads a module or wheel's name and version from the file,
// checks them against what the caller named, and stores it (replacing an
// upload of the same version).
func (e *Engine) UploadModule(ctx context.Context, p UploadModuleParams) (*runbooker.ModuleRecord, error) {
	if int64(len(p.Content)) > e.cfg.ModuleMaxBytes {
		return nil, runbooker.Errorf(runbooker.EINVALID, "the file has %d bytes, more than the %d a module may have", len(p.Content), e.cfg.ModuleMaxBytes)
	}
	if p.Kind != "" && !p.Kind.Valid() {
		return nil, runbooker.Errorf(runbooker.EINVALID, "module kind %q: use ps (PowerShell) or py (Python)", p.Kind)
	}
	name := p.FileName
	if name == "" && p.Kind == runbooker.ModulePython && p.Name != "" {
		name = p.Name + "-" + p.Version + "-py3-none-any.whl" // lets a METADATA-less wheel be named by the URL
	}
	info, err := modfile.Inspect(p.Content, name, e.ModuleLimits())
	if err != nil {
		return nil, err
	}
	if p.Kind != "" && p.Kind != info.Kind {
		return nil, runbooker.Errorf(runbooker.EINVALID, "the file is a %s, not a %s", info.Kind.Title(), p.Kind.Title())
	}
	if p.Name != "" && runbooker.ModuleNameKey(info.Kind, p.Name) != runbooker.ModuleNameKey(info.Kind, info.Name) {
		return nil, runbooker.Errorf(runbooker.EINVALID, "the file is %s %s, not %s", info.Name, info.Version, p.Name)
	}
	if p.Version != "" && p.Version != info.Version {
		return nil, runbooker.Errorf(runbooker.EINVALID, "the file is %s %s, not version %s", info.Name, info.Version, p.Version)
	}
	m := &runbooker.ModuleRecord{TenantID: p.TenantID, Kind: info.Kind, Name: info.Name, Version: info.Version,
		SHA256: runbooker.ContentHash(p.Content), FileName: path.Base(strings.ReplaceAll(p.FileName, `\`, "/")),
		Requires: info.Requires}
	if m.FileName == "." || m.FileName == "/" {
		m.FileName = ""
	}
	if err := e.store.PutModule(ctx, m, p.Content); err != nil {
		return nil, err
	}
	return m, nil
}

// Modules lists a tenant's uploads.
func (e *Engine) Modules(ctx context.Context, tenantID string) ([]*runbooker.ModuleRecord, error) {
	return e.store.ListModules(ctx, tenantID)
}

// Module returns one upload's record.
func (e *Engine) Module(ctx context.Context, tenantID string, kind runbooker.ModuleKind, name, version string) (*runbooker.ModuleRecord, error) {
	return e.store.Module(ctx, tenantID, kind, name, version)
}

// DeleteModule removes one upload.
func (e *Engine) DeleteModule(ctx context.Context, tenantID string, kind runbooker.ModuleKind, name, version string) error {
	return e.store.DeleteModule(ctx, tenantID, kind, name, version)
}

// ModuleContent returns an upload's file by its SHA-256, only to the
// tenant that uploaded it.
func (e *Engine) ModuleContent(ctx context.Context, tenantID, sha256 string) ([]byte, error) {
	return e.store.ModuleContent(ctx, tenantID, sha256)
}

// environmentModules are PowerShell modules a worker's machine is expected
// to have installed, as Azure Automation has them built in: a requirement
// of one of these that no upload names is left to the worker's
// environment. An upload of the same name is used like any other.
var environmentModules = []string{"Az", "Az.*", "AzureAD", "AzureADPreview", "AzureRM*", "Microsoft.Graph*",
	"Microsoft.PowerShell.*", "Microsoft.WSMan.*", "ExchangeOnlineManagement", "MicrosoftTeams", "PnP.PowerShell",
	"Orchestrator.AssetManagement.Cmdlets", "PackageManagement", "PowerShellGet", "Pester", "ThreadJob", "PSReadLine"}

func fromEnvironment(name string) bool {
	for _, p := range environmentModules {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(name)); ok {
			return true
		}
	}
	return false
}

// requiresMarker is the case-folded text without which a PowerShell
// script requires no module: most scripts are not tokenized at claim.
var requiresMarker = []byte("requires")

// ResolveModules turns what a runbook's source requires into the uploads
// that provide it, for the job's Assignment.
//
// The rule (README, "Modules and packages"): Python's `# requirements:`
// are always resolved against the tenant's uploaded wheels only. A
// PowerShell `#Requires -Modules` is resolved against uploads once the
// tenant has uploaded any PowerShell module; a well-known Azure Automation
// module (Az.*, Microsoft.Graph.*, …) that no upload names is left to the
// worker's environment, as is everything while the tenant has uploaded no
// PowerShell module. A named version must be uploaded exactly; without
// one the newest upload is used. What cannot be resolved is an EINVALID
// error naming the module and version.
func (e *Engine) ResolveModules(ctx context.Context, tenantID string, lang runbooker.Language, src []byte) ([]runbooker.ModuleRef, error) {
	kind := runbooker.ModuleKindFor(lang)
	var reqs []runbooker.Module
	switch kind {
	case runbooker.ModulePowerShell:
		if !bytes.Contains(bytes.ToLower(src), requiresMarker) {
			return nil, nil
		}
		reqs = psparse.RequiredModules(src)
	case runbooker.ModulePython:
		reqs, _ = pyparse.Requirements(src)
	}
	return e.resolve(ctx, tenantID, kind, reqs)
}

// CheckModules refuses a job at creation whose runbook requires what no
// upload provides (the runbook's parsed RequiredModules; the claim checks
// the pinned source again, as uploads may change meanwhile).
func (e *Engine) CheckModules(ctx context.Context, rb *runbooker.Runbook) error {
	kind := runbooker.ModuleKindFor(rb.Language)
	if kind == "" || len(rb.Meta.RequiredModules) == 0 {
		return nil
	}
	_, err := e.resolve(ctx, rb.TenantID, kind, rb.Meta.RequiredModules)
	return err
}

// resolve applies the rule of ResolveModules to parsed requirements.
func (e *Engine) resolve(ctx context.Context, tenantID string, kind runbooker.ModuleKind, reqs []runbooker.Module) ([]runbooker.ModuleRef, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	all, err := e.store.ListModules(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	byName := map[string][]*runbooker.ModuleRecord{}
	for _, m := range all {
		if m.Kind == kind {
			k := runbooker.ModuleNameKey(kind, m.Name)
			byName[k] = append(byName[k], m)
		}
	}
	if kind == runbooker.ModulePowerShell && len(byName) == 0 {
		return nil, nil // the tenant manages no PowerShell modules: the worker's environment provides them
	}
	var refs []runbooker.ModuleRef
	for _, r := range reqs {
		have := byName[runbooker.ModuleNameKey(kind, r.Name)]
		if len(have) == 0 && kind == runbooker.ModulePowerShell && fromEnvironment(r.Name) {
			continue
		}
		var best *runbooker.ModuleRecord
		for _, m := range have {
			switch {
			case r.Version != "" && !r.Minimum:
				if m.Version == r.Version {
					best = m
				}
			case r.Version != "" && runbooker.CompareVersions(m.Version, r.Version) < 0:
				// older than the least version that will do
			case best == nil || runbooker.CompareVersions(m.Version, best.Version) > 0:
				best = m
			}
		}
		if best == nil {
			return nil, runbooker.Errorf(runbooker.EINVALID, "%s", missingModule(kind, r, have))
		}
		refs = append(refs, runbooker.ModuleRef{Kind: kind, Name: best.Name, Version: best.Version, SHA256: best.SHA256})
	}
	return withDependencies(refs, byName), nil
}

// withDependencies adds the uploaded wheels the chosen ones depend on
// (Requires-Dist), transitively: the pinned version when uploaded, else
// the newest. A dependency nobody uploaded is left out: the runbook lists
// it if the worker's Python lacks it.
func withDependencies(refs []runbooker.ModuleRef, byName map[string][]*runbooker.ModuleRecord) []runbooker.ModuleRef {
	chosen := map[string]bool{}
	var queue []*runbooker.ModuleRecord
	for _, r := range refs {
		k := runbooker.ModuleNameKey(r.Kind, r.Name)
		chosen[k] = true
		for _, m := range byName[k] {
			if m.Version == r.Version {
				queue = append(queue, m)
			}
		}
	}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, dep := range m.Requires {
			name, pin, _ := strings.Cut(dep, "==")
			k := runbooker.ModuleNameKey(m.Kind, name)
			if chosen[k] || len(byName[k]) == 0 {
				continue
			}
			var best *runbooker.ModuleRecord
			for _, c := range byName[k] {
				if pin != "" && c.Version == pin {
					best = c
					break
				}
				if best == nil || runbooker.CompareVersions(c.Version, best.Version) > 0 {
					best = c
				}
			}
			chosen[k] = true
			queue = append(queue, best)
			refs = append(refs, runbooker.ModuleRef{Kind: best.Kind, Name: best.Name, Version: best.Version, SHA256: best.SHA256})
		}
	}
	return refs
}

// missingModule says which requirement no upload provides, and how to
// provide it.
func missingModule(kind runbooker.ModuleKind, r runbooker.Module, have []*runbooker.ModuleRecord) string {
	what := r.Name
	if r.Version != "" {
		what += " " + r.Version
		if r.Minimum {
			what += " or newer"
		}
	}
	msg := fmt.Sprintf("the runbook requires the %s %s, which no upload provides (runbooker module upload FILE)", kind.Title(), what)
	if len(have) > 0 {
		vs := make([]string, len(have))
		for i, m := range have {
			vs[i] = m.Version
		}
		msg += "; uploaded versions: " + strings.Join(vs, ", ")
	}
	return msg
}
