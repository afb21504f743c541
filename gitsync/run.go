package gitsync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"

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
	Adopted    []string    `json:"adopted,omitempty"` // uploaded runbooks the source took over (Options.Adopt)
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
func (s *Syncer) run(ctx context.Context, tenantID string, src *Source, creds *Credentials, opt Options) (*Report, error) {
	co, err := s.fetch(ctx, tenantID, src, creds)
	if runbooker.ErrorCode(err) == runbooker.EINTERNAL && ctx.Err() == nil {
		// The cache is only a cache: when it cannot be used (a crash left
		// it half-written, someone edited it), clone afresh.
		s.log.Warn("git cache unusable; cloning afresh", "tenant", tenantID, "source", src.ID, "err", err)
		if rmErr := os.RemoveAll(s.cacheDir(tenantID, src.ID)); rmErr == nil {
			co, err = s.fetch(ctx, tenantID, src, creds)
		}
	}
	if err != nil {
		return nil, err
	}
	defer co.storage.Close()
	rep := newReport(src.ID)
	rep.Branch, rep.Commit = co.branch, co.commit.Hash.String()
	tree, err := co.commit.Tree()
	var entries []entry
	var errs []FileError
	if err == nil {
		entries, errs, err = scan(tree, src)
	}
	if runbooker.ErrorCode(err) == runbooker.EINVALID {
		return nil, runbooker.Errorf(runbooker.EINVALID, "%s (branch %q, commit %.12s)", runbooker.ErrorMessage(err), co.branch, rep.Commit)
	} else if err != nil {
		// Objects the cache should have are missing or broken: start
		// from a fresh clone next time.
		_ = os.RemoveAll(s.cacheDir(tenantID, src.ID))
		return nil, fmt.Errorf("sync source %q: reading commit %s from the git cache: %w", src.ID, rep.Commit, err)
	}
	rep.Errors = append(rep.Errors, errs...)
	owned, err := s.store.ListRunbooks(ctx, tenantID, runbooker.RunbookFilter{SourceID: src.ID})
	if err != nil {
		return nil, err
	}
	p := &pass{src: src, adopt: opt.Adopt, commit: rep.Commit, objs: co.repo.Storer, old: s.memo(tenantID, src.ID),
		mine: make(map[string]*runbooker.Runbook, len(owned))}
	for _, rb := range owned {
		p.mine[rb.Name] = rb
	}
	if p.others, err = s.takenNames(ctx, tenantID, src, entries, p.mine); err != nil {
		return nil, err
	}
	jobs, err := s.storeAll(ctx, tenantID, p, entries)
	if err != nil {
		s.setMemo(tenantID, src.ID, nil)
		return nil, err
	}
	keep := make(map[string]bool, len(entries))
	fresh := make(memo, len(entries))
	for _, j := range jobs {
		keep[j.e.name.Full] = true
		j.report(rep)
		if j.memo != nil {
			fresh[j.e.name.Full] = *j.memo
		}
	}
	s.setMemo(tenantID, src.ID, fresh)
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
	sort.Strings(rep.Adopted)
	sort.Strings(rep.Removed)
	return rep, nil
}

// takenNames returns which names of entries that this source does not own
// yet exist already, owned by another source or uploaded, with the owner's
// source id ("" for an upload). Those are never touched.
func (s *Syncer) takenNames(ctx context.Context, tenantID string, src *Source, entries []entry, mine map[string]*runbooker.Runbook) (map[string]string, error) {
	var fresh []string
	for _, e := range entries {
		if mine[e.name.Full] == nil {
			fresh = append(fresh, e.name.Full)
		}
	}
	taken := map[string]string{}
	if len(fresh) > 50 {
		// Every name a source produces starts with its prefix: one listing
		// beats many lookups.
		rbs, err := s.store.ListRunbooks(ctx, tenantID, runbooker.RunbookFilter{Prefix: src.Prefix})
		if err != nil {
			return nil, err
		}
		for _, rb := range rbs {
			if rb.SourceID != src.ID {
				taken[rb.Name] = rb.SourceID
			}
		}
		return taken, nil
	}
	for _, name := range fresh {
		rb, err := s.store.Runbook(ctx, tenantID, name)
		switch {
		case err == nil:
			taken[name] = rb.SourceID
		case runbooker.ErrorCode(err) != runbooker.ENOTFOUND:
			return nil, err
		}
	}
	return taken, nil
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
