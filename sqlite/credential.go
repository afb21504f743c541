package sqlite

import (
	"context"
	"fmt"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storeutil"
)

// CreateCredential implements runbooker.CredentialStore. An empty ID is
// filled with a new random one and a zero CreatedAt with the current time;
// both are written back to c.
func (db *DB) CreateCredential(ctx context.Context, c *runbooker.Credential) error {
	if c.TenantID == "" || c.SecretHash == "" {
		return runbooker.Errorf(runbooker.EINVALID, "credential: tenant and secret hash are required")
	}
	if c.ID == "" {
		c.ID = runbooker.NewID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.now().UTC()
	}
	_, err := db.exec(ctx, `INSERT INTO credentials (`+storeutil.CredentialColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.Name, string(c.Role), c.SecretHash, nanos(c.CreatedAt), c.User)
	return storeErr(err, fmt.Sprintf("credential %q", c.ID))
}

// Credential implements runbooker.CredentialStore.
func (db *DB) Credential(ctx context.Context, id string) (*runbooker.Credential, error) {
	row := db.rq.QueryRowContext(ctx, `SELECT `+storeutil.CredentialColumns+` FROM credentials WHERE id = ?`, id)
	c, err := storeutil.ScanCredential(row)
	return c, storeErr(err, fmt.Sprintf("credential %q", id))
}

// ListCredentials implements runbooker.CredentialStore, oldest first.
func (db *DB) ListCredentials(ctx context.Context, tenantID string) ([]*runbooker.Credential, error) {
	rows, err := db.rq.QueryContext(ctx, `SELECT `+storeutil.CredentialColumns+` FROM credentials
		WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, storeErr(err, "credentials")
	}
	defer rows.Close()
	var out []*runbooker.Credential
	for rows.Next() {
		c, err := storeutil.ScanCredential(rows)
		if err != nil {
			return nil, storeErr(err, "credentials")
		}
		out = append(out, c)
	}
	return out, storeErr(rows.Err(), "credentials")
}

// DeleteCredential implements runbooker.CredentialStore.
func (db *DB) DeleteCredential(ctx context.Context, tenantID, id string) error {
	res, err := db.exec(ctx, `DELETE FROM credentials WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return storeErr(err, fmt.Sprintf("credential %q", id))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return runbooker.Errorf(runbooker.ENOTFOUND, "credential %q not found", id)
	}
	return nil
}
