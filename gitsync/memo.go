package gitsync

import (
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/runbooker/runbooker"
)

// memoEntry remembers which blobs a stored runbook version was made from.
// When a later sync finds the same blobs at the same path and the stored
// runbook untouched since (same version and update time), the runbook is
// unchanged without reading or parsing its files. The memo lives in memory
// only: after a restart (perhaps with a newer parser) the first sync of a
// source compares everything once.
type memoEntry struct {
	script, permissions, markdown plumbing.Hash
	path                          string
	version                       string
	updatedAt                     time.Time
}

// memo is one source's entries by runbook name.
type memo map[string]memoEntry

func newMemoEntry(e entry, rb *runbooker.Runbook) memoEntry {
	return memoEntry{script: e.script, permissions: e.permissions, markdown: e.markdown,
		path: e.path, version: rb.Version, updatedAt: rb.UpdatedAt}
}

// fresh reports whether e is what old was stored from.
func (m memoEntry) fresh(e entry, old *runbooker.Runbook) bool {
	return m.script == e.script && m.permissions == e.permissions && m.markdown == e.markdown &&
		m.path == e.path && m.version == old.Version && m.updatedAt.Equal(old.UpdatedAt)
}

func (s *Syncer) memo(tenantID, sourceID string) memo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memos[statusKey{tenantID, sourceID}]
}

func (s *Syncer) setMemo(tenantID, sourceID string, m memo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m == nil {
		delete(s.memos, statusKey{tenantID, sourceID})
		return
	}
	s.memos[statusKey{tenantID, sourceID}] = m
}
