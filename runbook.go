package runbooker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"strconv"
	"strings"
	"time"
)

// Language is the interpreter family of a runbook, chosen by file extension.
type Language string

// Languages Runbooker runs.
const (
	LangPowerShell Language = "powershell"
	LangPython     Language = "python"
	LangBash       Language = "bash"
)

// Valid reports whether l is a known language.
func (l Language) Valid() bool {
	return l == LangPowerShell || l == LangPython || l == LangBash
}

// Ext returns the file extension (with dot) of scripts in this language.
func (l Language) Ext() string {
	switch l {
	case LangPowerShell:
		return ".ps1"
	case LangPython:
		return ".py"
	case LangBash:
		return ".sh"
	}
	return ""
}

// LanguageFromExt maps a file name or extension to its language.
func LanguageFromExt(name string) (Language, bool) {
	switch strings.ToLower(path.Ext(name)) {
	case ".ps1":
		return LangPowerShell, true
	case ".py":
		return LangPython, true
	case ".sh":
		return LangBash, true
	}
	if !strings.Contains(name, ".") { // a bare extension without dot
		return LanguageFromExt("." + name)
	}
	return "", false
}

// ContentHash is the content address of a script version: hex SHA-256.
func ContentHash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// Runbook is a named script of a tenant plus its parsed metadata. Version is
// the content hash of the current source; every version ever stored is kept.
type Runbook struct {
	TenantID     string   `json:"tenantId"`
	Name         string   `json:"name"`
	Language     Language `json:"language"`
	Version      string   `json:"version"`
	Scope        string   `json:"scope"`
	Category     string   `json:"category"`
	DefaultGroup string   `json:"defaultGroup,omitempty"` // worker group jobs go to unless runOn says otherwise
	SourceID     string   `json:"sourceId,omitempty"`     // sync source that owns it; empty for uploads
	// LogVerbose is Azure's "Log verbose records": a PowerShell runbook's
	// jobs run with $VerbosePreference = 'Continue'. On unless turned off.
	LogVerbose bool        `json:"logVerbose"`
	CreatedAt  time.Time   `json:"createdAt"`
	UpdatedAt  time.Time   `json:"updatedAt"`
	Meta       RunbookMeta `json:"meta"`
}

// RunbookMeta is everything parsed from a runbook's source and its side files.
// Stores keep it as one document; nothing queries inside it.
type RunbookMeta struct {
	DisplayName      string          `json:"displayName"`
	Synopsis         string          `json:"synopsis,omitempty"`
	Description      string          `json:"description,omitempty"`
	Notes            string          `json:"notes,omitempty"`
	Examples         []string        `json:"examples,omitempty"`
	RequiredModules  []Module        `json:"requiredModules,omitempty"`
	Parameters       []Parameter     `json:"parameters"`
	ContextParameter string          `json:"contextParameter,omitempty"` // the scope's context parameter (UserName, DeviceId, …)
	Scheduled        bool            `json:"scheduled,omitempty"`        // name ends in _scheduled
	Hybrid           bool            `json:"hybrid,omitempty"`           // name ends in _hybrid
	Customization    json.RawMessage `json:"customization,omitempty"`    // RunbookCustomization JSON from the script header
	Permissions      json.RawMessage `json:"permissions,omitempty"`      // <name>.permissions.json
	Markdown         string          `json:"markdown,omitempty"`         // <name>.md
	SourceCommit     string          `json:"sourceCommit,omitempty"`     // git commit it was synced from
	SourcePath       string          `json:"sourcePath,omitempty"`       // path inside the sync source
	ParseError       *ParseError     `json:"parseError,omitempty"`       // the script could not be parsed; it is still runnable
	Warnings         []ParseError    `json:"warnings,omitempty"`         // non-fatal problems (e.g. broken customization)
}

// Module is a module or package a runbook requires.
type Module struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Minimum says Version is the least version that will do (PowerShell's
	// ModuleVersion), not the one exact version (RequiredVersion, or
	// Python's ==).
	Minimum bool `json:"minimum,omitempty"`
}

// ParseError is a problem found in a runbook's source or customization,
// located by 1-based line and column where known.
type ParseError struct {
	Source  string `json:"source,omitempty"` // "script", "customization", "tenant-customization", …
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(", column ")
			b.WriteString(strconv.Itoa(e.Column))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// RunbookFilter selects runbooks in a listing. Empty fields match everything.
type RunbookFilter struct {
	Scope    string
	Category string
	Search   string // case-insensitive substring of the name
	Prefix   string // name prefix, e.g. a sync source's "rjgit-"
	SourceID string
}

// PutRunbookResult says what PutRunbook changed.
type PutRunbookResult struct {
	Created bool // the runbook did not exist
	Changed bool // its version or metadata changed (always true when Created)
}
