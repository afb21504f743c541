package storeutil

import (
	"strings"

	"github.com/runbooker/runbooker"
)

// ModuleColumns are the columns ScanModule reads, in its order.
const ModuleColumns = `tenant_id, kind, name, version, sha256, size, file_name, uploaded_at, requires`

// ScanModule reads a module record in ModuleColumns order.
func ScanModule(s Scanner) (*runbooker.ModuleRecord, error) {
	var m runbooker.ModuleRecord
	var kind string
	var uploaded int64
	var requires string
	if err := s.Scan(&m.TenantID, &kind, &m.Name, &m.Version, &m.SHA256, &m.Size, &m.FileName, &uploaded, &requires); err != nil {
		return nil, err
	}
	if requires != "" {
		m.Requires = strings.Split(requires, "\n")
	}
	m.Kind, m.UploadedAt = runbooker.ModuleKind(kind), FromNanos(uploaded)
	return &m, nil
}

// CheckModule checks a module record before it is written.
func CheckModule(m *runbooker.ModuleRecord, content []byte) error {
	if m.TenantID == "" || m.Name == "" || m.Version == "" || !m.Kind.Valid() {
		return runbooker.Errorf(runbooker.EINVALID, "module: tenant, kind, name and version are required")
	}
	if want := runbooker.ContentHash(content); m.SHA256 != want {
		return runbooker.Errorf(runbooker.EINVALID, "module %s %s: sha256 %q is not the content's %q", m.Name, m.Version, m.SHA256, want)
	}
	m.Size = int64(len(content))
	return nil
}

// ModuleRequires is how Requires is stored: one a line.
func ModuleRequires(m *runbooker.ModuleRecord) string { return strings.Join(m.Requires, "\n") }

// ModuleObject names a module version in error messages.
func ModuleObject(kind runbooker.ModuleKind, name, version string) string {
	return kind.Title() + " " + name + " " + version
}
