package gitsync

import (
	"context"
	"encoding/json"
	"os"
	"sort"

	"github.com/runbooker/runbooker"
)

// SettingKey is the tenant setting that holds the tenant's sync sources as
// one JSON document, credentials sealed with the master key.
const SettingKey = "sync-sources"

// document is the stored form of a tenant's sources.
type document struct {
	Sources []storedSource `json:"sources"`
}

// storedSource is a source with its credentials sealed (AES-256-GCM under
// the master key, bound to tenant and source id).
type storedSource struct {
	Source
	Secret *sealed `json:"secret,omitempty"`
}

type sealed struct {
	KeyID string `json:"keyId"`
	Data  []byte `json:"data"`
}

// secretAAD binds sealed credentials to their tenant and source: copied into
// another source or tenant, they no longer decrypt.
func secretAAD(tenantID, sourceID string) []byte {
	return []byte("runbooker/sync-source\x00" + tenantID + "\x00" + sourceID)
}

func (s *Syncer) loadDoc(ctx context.Context, tenantID string) (*document, error) {
	raw, err := s.store.Setting(ctx, tenantID, SettingKey)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return &document{}, nil
	} else if err != nil {
		return nil, err
	}
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "tenant setting %q is not a sync source document: %v", SettingKey, err)
	}
	return &d, nil
}

func (s *Syncer) saveDoc(ctx context.Context, tenantID string, d *document) error {
	sort.Slice(d.Sources, func(i, j int) bool { return d.Sources[i].ID < d.Sources[j].ID })
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.store.PutSetting(ctx, tenantID, SettingKey, raw)
}

func (d *document) find(id string) int {
	for i := range d.Sources {
		if d.Sources[i].ID == id {
			return i
		}
	}
	return -1
}

func (s *Syncer) seal(tenantID, sourceID string, c *Credentials) (*sealed, error) {
	if c.empty() {
		return nil, nil
	}
	if s.keys == nil {
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "sync source %q: this server has no master key to seal credentials with", sourceID)
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	id, ct, err := s.keys.Encrypt(plain, secretAAD(tenantID, sourceID))
	if err != nil {
		return nil, err
	}
	return &sealed{KeyID: id, Data: ct}, nil
}

func (s *Syncer) unseal(tenantID string, ss *storedSource) (*Credentials, error) {
	if ss.Secret == nil {
		return nil, nil
	}
	if s.keys == nil {
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "sync source %q: this server has no master key to open its credentials", ss.ID)
	}
	plain, err := s.keys.Decrypt(ss.Secret.KeyID, ss.Secret.Data, secretAAD(tenantID, ss.ID))
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "sync source %q: its credentials do not decrypt with this server's master key (%v); set them again", ss.ID, err)
	}
	var c Credentials
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *Syncer) view(tenantID string, ss *storedSource) SourceView {
	v := SourceView{Source: ss.Source, Kind: ss.Kind(), HasCredentials: ss.Secret != nil}
	if st, ok := s.status(tenantID, ss.ID); ok {
		v.LastSync = &st
	}
	return v
}

// Sources lists a tenant's sync sources by id, without secrets.
func (s *Syncer) Sources(ctx context.Context, tenantID string) ([]SourceView, error) {
	d, err := s.loadDoc(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]SourceView, len(d.Sources))
	for i := range d.Sources {
		out[i] = s.view(tenantID, &d.Sources[i])
	}
	return out, nil
}

// Source returns one sync source without secrets; ENOTFOUND when absent.
func (s *Syncer) Source(ctx context.Context, tenantID, id string) (*SourceView, error) {
	d, err := s.loadDoc(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	i := d.find(id)
	if i < 0 {
		return nil, runbooker.Errorf(runbooker.ENOTFOUND, "sync source %q not found", id)
	}
	v := s.view(tenantID, &d.Sources[i])
	return &v, nil
}

// source returns a stored source with its credentials opened, for a sync.
func (s *Syncer) source(ctx context.Context, tenantID, id string) (*Source, *Credentials, error) {
	d, err := s.loadDoc(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	i := d.find(id)
	if i < 0 {
		return nil, nil, runbooker.Errorf(runbooker.ENOTFOUND, "sync source %q not found", id)
	}
	c, err := s.unseal(tenantID, &d.Sources[i])
	if err != nil {
		return nil, nil, err
	}
	src := d.Sources[i].Source
	return &src, c, nil
}

// CreateSource adds a sync source; ECONFLICT when the id is taken.
func (s *Syncer) CreateSource(ctx context.Context, tenantID string, in SourceInput) (*SourceView, error) {
	v, _, err := s.putSource(ctx, tenantID, in, true)
	return v, err
}

// PutSource creates or replaces a sync source and reports whether it was
// created. Credentials left out are kept unless ClearCredentials is set.
func (s *Syncer) PutSource(ctx context.Context, tenantID string, in SourceInput) (*SourceView, bool, error) {
	return s.putSource(ctx, tenantID, in, false)
}

func (s *Syncer) putSource(ctx context.Context, tenantID string, in SourceInput, createOnly bool) (*SourceView, bool, error) {
	src := in.Source
	if err := src.normalize(); err != nil {
		return nil, false, err
	}
	if err := s.allowed(&src); err != nil {
		return nil, false, err
	}
	s.docMu.Lock()
	defer s.docMu.Unlock()
	d, err := s.loadDoc(ctx, tenantID)
	if err != nil {
		return nil, false, err
	}
	i := d.find(src.ID)
	if i >= 0 && createOnly {
		return nil, false, runbooker.Errorf(runbooker.ECONFLICT, "sync source %q already exists; PUT /api/v1/sync/sources/%s replaces it", src.ID, src.ID)
	}
	creds := in.Credentials
	if creds.empty() && !in.ClearCredentials && i >= 0 {
		if creds, err = s.unseal(tenantID, &d.Sources[i]); err != nil {
			return nil, false, err
		}
	}
	if in.ClearCredentials {
		creds = nil
	}
	if err := src.checkCredentials(creds); err != nil {
		return nil, false, err
	}
	for _, o := range d.Sources {
		if o.ID != src.ID && o.Prefix == src.Prefix {
			return nil, false, invalidSource(src.ID, "prefix %q is already used by sync source %q; give each source its own prefix", src.Prefix, o.ID)
		}
	}
	ss := storedSource{Source: src}
	if ss.Secret, err = s.seal(tenantID, src.ID, creds); err != nil {
		return nil, false, err
	}
	if i >= 0 {
		d.Sources[i] = ss
	} else {
		d.Sources = append(d.Sources, ss)
	}
	if err := s.saveDoc(ctx, tenantID, d); err != nil {
		return nil, false, err
	}
	v := s.view(tenantID, &ss)
	return &v, i < 0, nil
}

// DeleteSource removes a sync source and its git cache. Unless
// keepRunbooks, the runbooks it synced are removed too, and their names
// returned; kept ones stay owned by its id, so a source re-created with the
// same id adopts them again.
func (s *Syncer) DeleteSource(ctx context.Context, tenantID, id string, keepRunbooks bool) ([]string, error) {
	unlock, err := s.lock(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.docMu.Lock()
	defer s.docMu.Unlock()
	d, err := s.loadDoc(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	i := d.find(id)
	if i < 0 {
		return nil, runbooker.Errorf(runbooker.ENOTFOUND, "sync source %q not found", id)
	}
	d.Sources = append(d.Sources[:i], d.Sources[i+1:]...)
	if err := s.saveDoc(ctx, tenantID, d); err != nil {
		return nil, err
	}
	s.forget(tenantID, id)
	if err := os.RemoveAll(s.cacheDir(tenantID, id)); err != nil {
		s.log.Warn("removing git cache", "tenant", tenantID, "source", id, "err", err)
	}
	removed := []string{}
	if keepRunbooks {
		return removed, nil
	}
	rbs, err := s.store.ListRunbooks(ctx, tenantID, runbooker.RunbookFilter{SourceID: id})
	if err != nil {
		return nil, err
	}
	for _, rb := range rbs {
		if err := s.store.DeleteRunbook(ctx, tenantID, rb.Name); err != nil && runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			return removed, err
		}
		removed = append(removed, rb.Name)
	}
	return removed, nil
}
