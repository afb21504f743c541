package postgres

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
	_, err := db.pool.Exec(ctx, `INSERT INTO credentials (`+storeutil.CredentialColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.ID, c.TenantID, c.Name, string(c.Role), c.SecretHash, nanos(c.CreatedAt), cleanText(c.User))
	return storeErr(err, fmt.Sprintf("credential %q", c.ID))
}

// Credential implements runbooker.CredentialStore.
func (db *DB) Credential(ctx context.Context, id string) (*runbooker.Credential, error) {
	c, err := storeutil.ScanCredential(db.pool.QueryRow(ctx, `SELECT `+storeutil.CredentialColumns+` FROM credentials WHERE id = $1`, id))
	return c, storeErr(err, fmt.Sprintf("credential %q", id))
}

// ListCredentials implements runbooker.CredentialStore, oldest first.
func (db *DB) ListCredentials(ctx context.Context, tenantID string) ([]*runbooker.Credential, error) {
	l, err := list(ctx, db, storeutil.ScanCredential, "credentials", `SELECT `+storeutil.CredentialColumns+` FROM credentials
		WHERE tenant_id = $1 ORDER BY created_at, id COLLATE "C"`, tenantID)
	if len(l) == 0 {
		l = nil // as the SQLite engine: no credentials is a nil list
	}
	return l, err
}

// DeleteCredential implements runbooker.CredentialStore.
func (db *DB) DeleteCredential(ctx context.Context, tenantID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM credentials WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return affected(tag.RowsAffected(), err, fmt.Sprintf("credential %q", id))
}

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, db *DB, scan func(scanner) (*T, error), object, query string, args ...any) ([]*T, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, storeErr(err, object)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, storeErr(err, object)
		}
		out = append(out, v)
	}
	return out, storeErr(rows.Err(), object)
}

// affected turns "no row changed" into ENOTFOUND for the named object.
func affected(n int64, err error, object string) error {
	if err != nil {
		return storeErr(err, object)
	}
	if n == 0 {
		return runbooker.Errorf(runbooker.ENOTFOUND, "%s not found", object)
	}
	return nil
}
