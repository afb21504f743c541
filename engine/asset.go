package engine

import (
	"context"
	"encoding/json"
	"regexp"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/keyring"
)

// SetKeyring gives the engine the master keyring that seals secret assets.
func (e *Engine) SetKeyring(k *keyring.Keyring) { e.keys = k }

// Keyring returns the engine's master keyring.
func (e *Engine) Keyring() *keyring.Keyring { return e.keys }

var assetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$`)

// AssetInput is an asset to create or replace.
type AssetInput struct {
	TenantID    string
	Type        runbooker.AssetType
	Name        string
	Description string
	Encrypted   bool            // variables only: credentials, certificates and connections are always encrypted
	Value       json.RawMessage // the asset document (see runbooker.Asset)
}

func assetAAD(tenantID string, t runbooker.AssetType, name string) []byte {
	return []byte(tenantID + "/" + string(t) + "/" + name)
}

// checkAssetValue validates the document of each asset type.
func checkAssetValue(t runbooker.AssetType, v json.RawMessage) error {
	var doc any
	if len(v) == 0 || json.Unmarshal(v, &doc) != nil {
		return runbooker.Errorf(runbooker.EINVALID, "asset value must be JSON")
	}
	obj, _ := doc.(map[string]any)
	str := func(k string) bool { s, ok := obj[k].(string); return ok && s != "" }
	switch t {
	case runbooker.AssetVariable:
		return nil
	case runbooker.AssetCredential:
		if obj == nil || !str("userName") {
			return runbooker.Errorf(runbooker.EINVALID, `a credential asset needs {"userName": "...", "password": "..."}`)
		}
	case runbooker.AssetCertificate:
		if obj == nil || (!str("pem") && !str("pfx")) {
			return runbooker.Errorf(runbooker.EINVALID, `a certificate asset needs {"pem": "..."} or {"pfx": "<base64>", "password": "..."}`)
		}
	case runbooker.AssetConnection:
		if _, ok := obj["fields"].(map[string]any); obj == nil || !ok || !str("type") {
			return runbooker.Errorf(runbooker.EINVALID, `a connection asset needs {"type": "...", "fields": {...}}`)
		}
	default:
		return runbooker.Errorf(runbooker.EINVALID, "unknown asset type %q (variable, credential, certificate, connection)", t)
	}
	return nil
}

// PutAsset creates or replaces an asset, sealing its value under the
// current master key when it is secret.
func (e *Engine) PutAsset(ctx context.Context, in AssetInput) (*runbooker.Asset, error) {
	if !in.Type.Valid() {
		return nil, runbooker.Errorf(runbooker.EINVALID, "unknown asset type %q (variable, credential, certificate, connection)", in.Type)
	}
	if !assetName.MatchString(in.Name) {
		return nil, runbooker.Errorf(runbooker.EINVALID, "asset name %q: use 1-128 letters, digits, spaces, '.', '_' or '-'", in.Name)
	}
	if err := checkAssetValue(in.Type, in.Value); err != nil {
		return nil, err
	}
	a := &runbooker.Asset{TenantID: in.TenantID, Type: in.Type, Name: in.Name, Description: in.Description,
		Encrypted: in.Encrypted || in.Type != runbooker.AssetVariable, Value: in.Value, UpdatedAt: e.Now()}
	if a.Encrypted {
		if e.keys == nil {
			return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "no master key is loaded")
		}
		id, ct, err := e.keys.Encrypt(in.Value, assetAAD(a.TenantID, a.Type, a.Name))
		if err != nil {
			return nil, err
		}
		sealed, _ := json.Marshal(ct) // base64 in a JSON string keeps the column a JSON document
		a.KeyID, a.Value = id, sealed
	}
	if err := e.store.EnsureTenant(ctx, a.TenantID); err != nil {
		return nil, err
	}
	if err := e.store.PutAsset(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// AssetValue returns an asset's document in clear, and whether it is secret.
func (e *Engine) AssetValue(ctx context.Context, tenantID string, t runbooker.AssetType, name string) (json.RawMessage, bool, error) {
	a, err := e.store.Asset(ctx, tenantID, t, name)
	if err != nil {
		return nil, false, err
	}
	v, err := e.open(a)
	return v, a.Encrypted, err
}

func (e *Engine) open(a *runbooker.Asset) (json.RawMessage, error) {
	if !a.Encrypted {
		return a.Value, nil
	}
	if e.keys == nil {
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "no master key is loaded")
	}
	var ct []byte
	if err := json.Unmarshal(a.Value, &ct); err != nil {
		return nil, runbooker.Errorf(runbooker.EINTERNAL, "asset %s %q: stored value is not sealed data", a.Type, a.Name)
	}
	pt, err := e.keys.Decrypt(a.KeyID, ct, assetAAD(a.TenantID, a.Type, a.Name))
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "asset %s %q: %v", a.Type, a.Name, err)
	}
	return pt, nil
}

// RotateKeys re-seals every encrypted asset of every tenant under the
// keyring's current key and returns how many it re-sealed. The keyring must
// still hold the old keys.
func (e *Engine) RotateKeys(ctx context.Context) (int, error) {
	all, err := e.store.EncryptedAssets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range all {
		if a.KeyID == e.keys.Current() {
			continue
		}
		v, err := e.open(a)
		if err != nil {
			return n, err
		}
		if _, err := e.PutAsset(ctx, AssetInput{TenantID: a.TenantID, Type: a.Type, Name: a.Name,
			Description: a.Description, Encrypted: true, Value: v}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// JobAsset returns an asset to a running job. w is the worker asking (nil
// for the built-in group, which runs in this process and names the job's
// tenant itself); it must hold the attempt's lease. Only the job's own
// tenant's assets are reachable.
func (e *Engine) JobAsset(ctx context.Context, w *runbooker.Worker, tenantID string, ref runbooker.JobRef, t runbooker.AssetType, name string) (json.RawMessage, bool, error) {
	j, err := e.leasedJob(ctx, w, tenantID, ref)
	if err != nil {
		return nil, false, err
	}
	return e.AssetValue(ctx, j.TenantID, t, name)
}

// JobSetVariable lets a running job set a variable (Set-AutomationVariable):
// it keeps the variable's encryption, and must already exist, as on Azure.
func (e *Engine) JobSetVariable(ctx context.Context, w *runbooker.Worker, tenantID string, ref runbooker.JobRef, name string, value json.RawMessage) error {
	j, err := e.leasedJob(ctx, w, tenantID, ref)
	if err != nil {
		return err
	}
	a, err := e.store.Asset(ctx, j.TenantID, runbooker.AssetVariable, name)
	if err != nil {
		return err
	}
	_, err = e.PutAsset(ctx, AssetInput{TenantID: j.TenantID, Type: runbooker.AssetVariable, Name: name,
		Description: a.Description, Encrypted: a.Encrypted, Value: value})
	return err
}

func (e *Engine) leasedJob(ctx context.Context, w *runbooker.Worker, tenantID string, ref runbooker.JobRef) (*runbooker.Job, error) {
	if w != nil {
		return e.HeldJob(ctx, w, ref, true)
	}
	j, err := e.store.Job(ctx, tenantID, ref.ID)
	if err != nil {
		return nil, err
	}
	if j.RunOn != runbooker.CloudGroup || j.Attempt != ref.Attempt {
		return nil, runbooker.Errorf(runbooker.ECONFLICT, "job %s attempt %d is not held by the built-in group", ref.ID, ref.Attempt)
	}
	switch j.Status {
	case runbooker.StatusActivating, runbooker.StatusRunning, runbooker.StatusStopping:
		return j, nil
	}
	return nil, runbooker.Errorf(runbooker.ECONFLICT, "job %s is %s: its lease is over", ref.ID, j.Status)
}
