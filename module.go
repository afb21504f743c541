package runbooker

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// ModuleKind says what an uploaded module is for.
type ModuleKind string

// Module kinds.
const (
	ModulePowerShell ModuleKind = "ps" // a PowerShell module folder (zip or .nupkg)
	ModulePython     ModuleKind = "py" // a Python wheel
)

// Valid reports whether k is a known kind.
func (k ModuleKind) Valid() bool { return k == ModulePowerShell || k == ModulePython }

// Title is the kind as people say it, for messages.
func (k ModuleKind) Title() string {
	if k == ModulePython {
		return "Python package"
	}
	return "PowerShell module"
}

// ModuleKindFor is the kind of module a runbook language requires; "" for
// a language without modules (Bash).
func ModuleKindFor(l Language) ModuleKind {
	switch l {
	case LangPowerShell:
		return ModulePowerShell
	case LangPython:
		return ModulePython
	}
	return ""
}

// ModuleNameKey is what module names are matched and kept unique on:
// PowerShell names case-insensitively, Python names normalised as PEP 503
// does (lower case, each run of "-", "_" and "." one "-").
func ModuleNameKey(k ModuleKind, name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if k != ModulePython {
		return name
	}
	var b strings.Builder
	sep := false
	for _, r := range name {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

// ModuleRecord is one uploaded version of a module or package. Its content
// is stored once per tenant and SHA-256 (hex), like runbook versions.
type ModuleRecord struct {
	TenantID   string     `json:"tenantId"`
	Kind       ModuleKind `json:"kind"`
	Name       string     `json:"name"`
	Version    string     `json:"version"`
	SHA256     string     `json:"sha256"`
	Size       int64      `json:"size"`
	FileName   string     `json:"fileName,omitempty"`
	UploadedAt time.Time  `json:"uploadedAt"`
	// Requires are a wheel's dependencies from its Requires-Dist (a name,
	// or name==version for an exact pin); uploads of them are delivered
	// with it.
	Requires []string `json:"requires,omitempty"`
}

// ModuleRef is a module version a job needs, as its Assignment names it:
// the worker fetches the content by SHA256 and checks it.
type ModuleRef struct {
	Kind    ModuleKind `json:"kind"`
	Name    string     `json:"name"`
	Version string     `json:"version"`
	SHA256  string     `json:"sha256"`
}

// ModuleStore persists uploaded modules and their content.
type ModuleStore interface {
	// PutModule stores content under m.SHA256 (which must be its
	// ContentHash; deduplicated per tenant) and creates or replaces the
	// record of (tenant, kind, name, version); names match as ModuleNameKey
	// says. m.UploadedAt is set by the store.
	PutModule(ctx context.Context, m *ModuleRecord, content []byte) error
	// Module returns one version's record; ENOTFOUND when absent.
	Module(ctx context.Context, tenantID string, kind ModuleKind, name, version string) (*ModuleRecord, error)
	// ListModules returns the tenant's records ordered by kind, name key
	// and upload time.
	ListModules(ctx context.Context, tenantID string) ([]*ModuleRecord, error)
	// DeleteModule removes a record, and its content when no other record
	// of the tenant points at it; ENOTFOUND when absent.
	DeleteModule(ctx context.Context, tenantID string, kind ModuleKind, name, version string) error
	// ModuleContent returns the content stored under a SHA-256 for the
	// tenant; ENOTFOUND when the tenant has none.
	ModuleContent(ctx context.Context, tenantID, sha256 string) ([]byte, error)
}

// CompareVersions orders two version strings the way people read them:
// dot- (or dash-) separated parts, numeric parts as numbers, others as
// text, a missing part before a present one ("1.2" < "1.2.0" < "1.10").
func CompareVersions(a, b string) int {
	pa, pb := splitVersion(a), splitVersion(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		if i >= len(pa) {
			return -1
		}
		if i >= len(pb) {
			return 1
		}
		na, ea := strconv.ParseUint(pa[i], 10, 64)
		nb, eb := strconv.ParseUint(pb[i], 10, 64)
		switch {
		case ea == nil && eb == nil:
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
		case ea == nil: // a number sorts after text ("1.0.0-beta" < "1.0.0.1")
			return 1
		case eb == nil:
			return -1
		default:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
	}
	return 0
}

func splitVersion(v string) []string {
	return strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == '.' || r == '-' || r == '+' })
}
