package gitsync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
)

// Report says what one sync of a source did.
type Report struct {
	Source     string      `json:"source"`
	Branch     string      `json:"branch,omitempty"`
	Commit     string      `json:"commit,omitempty"`
	Added      []string    `json:"added"`
	Updated    []string    `json:"updated"`
	Removed    []string    `json:"removed"`
	Unchanged  int         `json:"unchanged"`
	Errors     []FileError `json:"errors"`
	Error      string      `json:"error,omitempty"` // the whole sync failed (SyncAll only)
	DurationMS int64       `json:"durationMs"`
}

// FileError is a problem with one file of a sync. Imported says the runbook
// was stored anyway: a script that does not parse is kept, runnable, with
// its ParseError.
type FileError struct {
	Path     string `json:"path"`
	Name     string `json:"name,omitempty"`
	Message  string `json:"message"`
	Imported bool   `json:"imported,omitempty"`
}

func newReport(sourceID string) *Report {
	return &Report{Source: sourceID, Added: []string{}, Updated: []string{}, Removed: []string{}, Errors: []FileError{}}
}

// run fetches the source, reads its tree and brings the source's runbooks
// in line with it. The caller holds the tenant's lock.
func (s *Syncer) run(ctx context.Context, tenantID string, src *Source, creds *Credentials) (*Report, error) {
	repo, commit, branch, err := s.fetch(ctx, tenantID, src, creds)
	if err != nil {
		return nil, err
	}
	rep := newReport(src.ID)
	rep.Branch, rep.Commit = branch, commit.Hash.String()
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("sync source %q: tree of commit %s: %w", src.ID, rep.Commit, err)
	}
	entries, errs, err := scan(tree, src)
	if err != nil {
		if runbooker.ErrorCode(err) == runbooker.EINVALID {
			return nil, runbooker.Errorf(runbooker.EINVALID, "%s (branch %q, commit %.12s)", runbooker.ErrorMessage(err), branch, rep.Commit)
		}
		return nil, fmt.Errorf("sync source %q: commit %s: %w", src.ID, rep.Commit, err)
	}
	rep.Errors = append(rep.Errors, errs...)
	owned, err := s.store.ListRunbooks(ctx, tenantID, runbooker.RunbookFilter{SourceID: src.ID})
	if err != nil {
		return nil, err
	}
	mine := make(map[string]*runbooker.Runbook, len(owned))
	for _, rb := range owned {
		mine[rb.Name] = rb
	}
	keep := make(map[string]bool, len(entries))
	for _, e := range entries {
		keep[e.name.Full] = true
		if err := s.apply(ctx, tenantID, src, repo.Storer, rep, e, mine[e.name.Full]); err != nil {
			return nil, err
		}
	}
	for _, rb := range owned {
		if keep[rb.Name] {
			continue
		}
		if err := s.store.DeleteRunbook(ctx, tenantID, rb.Name); err != nil && runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			return nil, err
		}
		rep.Removed = append(rep.Removed, rb.Name)
	}
	sort.Strings(rep.Added)
	sort.Strings(rep.Updated)
	sort.Strings(rep.Removed)
	return rep, nil
}

// apply stores one runbook when it is new or changed. Problems with the
// file go into the report; the error is only for what stops the whole sync
// (the store failing).
func (s *Syncer) apply(ctx context.Context, tenantID string, src *Source, objs storer.EncodedObjectStorer, rep *Report, e entry, old *runbooker.Runbook) error {
	fail := func(format string, args ...any) {
		rep.Errors = append(rep.Errors, FileError{Path: e.path, Name: e.name.Full, Message: fmt.Sprintf(format, args...)})
	}
	if old == nil {
		other, err := s.store.Runbook(ctx, tenantID, e.name.Full)
		switch {
		case err == nil && other.SourceID == "":
			fail("the name is taken by an uploaded runbook; not touched")
			return nil
		case err == nil:
			fail("the name is taken by a runbook of sync source %q; not touched", other.SourceID)
			return nil
		case runbooker.ErrorCode(err) != runbooker.ENOTFOUND:
			return err
		}
	}
	var files [3][]byte
	for i, h := range [3]struct {
		what string
		hash plumbing.Hash
	}{{"script", e.script}, {"permissions file", e.permissions}, {"markdown file", e.markdown}} {
		b, err := readBlob(objs, h.hash)
		if err != nil {
			fail("reading the %s: %s", h.what, runbooker.ErrorMessage(err))
			return nil
		}
		files[i] = b
	}
	in := catalog.PutInput{
		TenantID: tenantID, Name: e.name.Full, Language: e.lang, Content: files[0], SourceID: src.ID,
		Permissions: files[1], Markdown: string(files[2]), SourceCommit: rep.Commit, SourcePath: e.path,
	}
	if old != nil && unchanged(old, in) {
		rep.Unchanged++
		noteParseError(rep, e, old.Meta.ParseError)
		return nil
	}
	rb, res, err := catalog.Put(ctx, s.store, in)
	if runbooker.ErrorCode(err) == runbooker.EINVALID {
		fail("%s", runbooker.ErrorMessage(err))
		return nil
	} else if err != nil {
		return err
	}
	switch {
	case res.Created:
		rep.Added = append(rep.Added, rb.Name)
	case res.Changed:
		rep.Updated = append(rep.Updated, rb.Name)
	default:
		rep.Unchanged++
	}
	noteParseError(rep, e, rb.Meta.ParseError)
	return nil
}

func noteParseError(rep *Report, e entry, pe *runbooker.ParseError) {
	if pe != nil {
		rep.Errors = append(rep.Errors, FileError{Path: e.path, Name: e.name.Full, Imported: true,
			Message: "imported with a parse error: " + pe.Error()})
	}
}

// unchanged reports whether storing in would change nothing but the commit
// it came from: same content, side files and path, and the same metadata
// as stored. Only then is the runbook left alone, so a sync that brings a
// new commit does not touch runbooks whose files did not change.
func unchanged(old *runbooker.Runbook, in catalog.PutInput) bool {
	if old.Version != runbooker.ContentHash(in.Content) || old.Language != in.Language ||
		old.SourceID != in.SourceID || old.Meta.SourcePath != in.SourcePath || old.Meta.Markdown != in.Markdown {
		return false
	}
	meta, _, err := catalog.Analyze(catalog.AnalyzeInput{
		Name: in.Name, Language: in.Language, Content: in.Content, Permissions: in.Permissions, Markdown: in.Markdown,
	})
	if err != nil {
		return false
	}
	meta.SourceCommit, meta.SourcePath = old.Meta.SourceCommit, in.SourcePath
	a, errA := json.Marshal(meta)
	b, errB := json.Marshal(old.Meta)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}
