package runbooker

import (
	"context"
	"encoding/json"
	"time"
)

// AssetType is the kind of an automation asset, as Azure Automation has them.
type AssetType string

// Asset types.
const (
	AssetVariable    AssetType = "variable"
	AssetCredential  AssetType = "credential"
	AssetCertificate AssetType = "certificate"
	AssetConnection  AssetType = "connection"
)

// Valid reports whether t is a known asset type.
func (t AssetType) Valid() bool {
	return t == AssetVariable || t == AssetCredential || t == AssetCertificate || t == AssetConnection
}

// Asset is a stored asset. Value is the JSON document of the asset (for a
// variable its value; for a credential {"userName","password"}; for a
// certificate {"pem"|"pfx","password","thumbprint"}; for a connection
// {"type","fields":{…}}). When Encrypted, Value holds ciphertext under the
// master key named by KeyID and only the engine's asset service opens it.
type Asset struct {
	TenantID    string          `json:"tenantId"`
	Type        AssetType       `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Encrypted   bool            `json:"encrypted"`
	KeyID       string          `json:"-"`
	Value       json.RawMessage `json:"-"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// AssetStore persists assets as opaque (possibly encrypted) values.
type AssetStore interface {
	PutAsset(ctx context.Context, a *Asset) error
	Asset(ctx context.Context, tenantID string, t AssetType, name string) (*Asset, error)
	ListAssets(ctx context.Context, tenantID string, t AssetType) ([]*Asset, error)
	DeleteAsset(ctx context.Context, tenantID string, t AssetType, name string) error
	// EncryptedAssets lists every encrypted asset of every tenant (key rotation).
	EncryptedAssets(ctx context.Context) ([]*Asset, error)
}
