package catalog

import (
	"context"

	runbooker "github.com/runbooker/runbooker"
)

// PutInput is a runbook source to store, with what the store needs besides
// the parsed metadata.
type PutInput struct {
	TenantID     string
	Name         string
	Language     runbooker.Language
	Content      []byte
	DefaultGroup string // worker group jobs go to by default; empty: by name suffix, else cloud
	// LogVerbose sets the runbook's "log verbose records"; nil keeps the
	// stored setting (on for a new runbook), so a sync or an upload that
	// does not mention it leaves it as the operator set it.
	LogVerbose   *bool
	SourceID     string // sync source owning it; empty for uploads
	Permissions  []byte // <name>.permissions.json
	Markdown     string // <name>.md
	SourceCommit string
	SourcePath   string
}

// Put analyses a runbook source and stores it as the runbook's current
// version. An invalid name or language is EINVALID; a script that does not
// parse is stored anyway with its ParseError, so it stays visible and runnable.
func Put(ctx context.Context, st runbooker.RunbookStore, in PutInput) (*runbooker.Runbook, runbooker.PutRunbookResult, error) {
	meta, lang, err := Analyze(AnalyzeInput{
		Name: in.Name, Language: in.Language, Content: in.Content,
		Permissions: in.Permissions, Markdown: in.Markdown,
	})
	if err != nil {
		return nil, runbooker.PutRunbookResult{}, err
	}
	n, _ := ParseName(in.Name) // Analyze validated it
	meta.SourceCommit, meta.SourcePath = in.SourceCommit, in.SourcePath
	verbose := true
	if in.LogVerbose != nil {
		verbose = *in.LogVerbose
	} else if old, err := st.Runbook(ctx, in.TenantID, in.Name); err == nil {
		verbose = old.LogVerbose
	} else if runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		return nil, runbooker.PutRunbookResult{}, err
	}
	rb := &runbooker.Runbook{
		TenantID: in.TenantID, Name: in.Name, Language: lang, Version: runbooker.ContentHash(in.Content),
		Scope: n.Scope, Category: n.Category, DefaultGroup: in.DefaultGroup, SourceID: in.SourceID,
		LogVerbose: verbose, Meta: meta,
	}
	res, err := st.PutRunbook(ctx, rb, in.Content)
	if err != nil {
		return nil, res, err
	}
	return rb, res, nil
}
