package gitsync

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
)

// storeWorkers is how many runbooks are parsed and stored at once: parsing
// uses the cores and concurrent writes share the store's group commits.
const storeWorkers = 4

// pass is what one sync run knows before it stores anything.
type pass struct {
	src    *Source
	adopt  bool // take over names no source owns
	commit string
	objs   storer.EncodedObjectStorer
	mine   map[string]*runbooker.Runbook // this source's runbooks by name
	others map[string]string             // names with the prefix owned by others → their source id ("" = upload)
	old    memo                          // the previous run's memo, nil after a restart
}

// outcome of one runbook in a sync.
type outcome int

const (
	outUnchanged outcome = iota
	outAdded
	outUpdated
	outFailed
)

// job is one runbook of a sync: decided at once (taken name, unreadable
// file, memo hit) or, when pending, compared and stored by a worker.
type job struct {
	e       entry
	old     *runbooker.Runbook
	in      catalog.PutInput
	pending bool
	adopted bool // the name was an upload's; the source takes it over

	out   outcome
	msg   string // outFailed: why
	parse *runbooker.ParseError
	memo  *memoEntry
	err   error // stops the whole sync (the store failing)
}

// report adds the job's outcome to rep.
func (j *job) report(rep *Report) {
	switch j.out {
	case outAdded:
		rep.Added = append(rep.Added, j.e.name.Full)
	case outUpdated:
		if j.adopted {
			rep.Adopted = append(rep.Adopted, j.e.name.Full)
		} else {
			rep.Updated = append(rep.Updated, j.e.name.Full)
		}
	case outUnchanged:
		rep.Unchanged++
	case outFailed:
		rep.Errors = append(rep.Errors, FileError{Path: j.e.path, Name: j.e.name.Full, Message: j.msg})
	}
	if j.parse != nil {
		rep.Errors = append(rep.Errors, FileError{Path: j.e.path, Name: j.e.name.Full, Imported: true,
			Message: "imported with a parse error: " + j.parse.Error()})
	}
}

// storeAll prepares every entry in order (git objects are read by one
// goroutine) and hands the pending ones to storeWorkers workers. Jobs come
// back in entry order; the error is the first that stops the sync.
func (s *Syncer) storeAll(ctx context.Context, tenantID string, p *pass, entries []entry) ([]*job, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *job, 2*storeWorkers)
	var wg sync.WaitGroup
	for range storeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				s.storeOne(ctx, j)
				if j.err != nil {
					cancel()
				}
			}
		}()
	}
	jobs := make([]*job, 0, len(entries))
	for _, e := range entries {
		j := p.prepare(tenantID, e)
		jobs = append(jobs, j)
		if j.pending && ctx.Err() == nil {
			work <- j
		}
	}
	close(work)
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			return nil, j.err
		}
	}
	return jobs, ctx.Err()
}

// prepare decides what it can without the store: a name owned by someone
// else, a runbook whose blobs are those it was stored from, a file that
// cannot be read. Otherwise it reads the files and leaves the job pending.
func (p *pass) prepare(tenantID string, e entry) *job {
	j := &job{e: e, old: p.mine[e.name.Full]}
	if owner, taken := p.others[e.name.Full]; taken && owner == "" && p.adopt && j.old == nil {
		j.adopted = true
	}
	if owner, taken := p.others[e.name.Full]; taken && j.old == nil && (owner != "" || !p.adopt) {
		j.out, j.msg = outFailed, "the name is taken by an uploaded runbook; not touched (sync --adopt takes it over)"
		if owner != "" {
			j.msg = fmt.Sprintf("the name is taken by a runbook of sync source %q; not touched", owner)
		}
		return j
	}
	if m, ok := p.old[e.name.Full]; ok && j.old != nil && m.fresh(e, j.old) {
		j.out, j.memo, j.parse = outUnchanged, &m, j.old.Meta.ParseError
		return j
	}
	var files [3][]byte
	for i, f := range [3]struct {
		what string
		hash plumbing.Hash
	}{{"script", e.script}, {"permissions file", e.permissions}, {"markdown file", e.markdown}} {
		b, err := readBlob(p.objs, f.hash)
		if err != nil {
			j.out, j.msg = outFailed, fmt.Sprintf("reading the %s: %s", f.what, runbooker.ErrorMessage(err))
			return j
		}
		files[i] = b
	}
	j.in = catalog.PutInput{
		TenantID: tenantID, Name: e.name.Full, Language: e.lang, Content: files[0], SourceID: p.src.ID,
		Permissions: files[1], Markdown: string(files[2]), SourceCommit: p.commit, SourcePath: e.path,
	}
	j.pending = true
	return j
}

// storeOne compares a pending job with the stored runbook and stores it when
// it changed.
func (s *Syncer) storeOne(ctx context.Context, j *job) {
	if j.old != nil && unchanged(j.old, j.in) {
		m := newMemoEntry(j.e, j.old)
		j.out, j.memo, j.parse = outUnchanged, &m, j.old.Meta.ParseError
		return
	}
	rb, res, err := catalog.Put(ctx, s.store, j.in)
	if runbooker.ErrorCode(err) == runbooker.EINVALID {
		j.out, j.msg = outFailed, runbooker.ErrorMessage(err)
		return
	} else if err != nil {
		j.err = err
		return
	}
	m := newMemoEntry(j.e, rb)
	j.memo, j.parse = &m, rb.Meta.ParseError
	switch {
	case res.Created:
		j.out = outAdded
	case res.Changed:
		j.out = outUpdated
	}
}
