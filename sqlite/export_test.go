package sqlite

import "context"

// ExecRaw runs one statement past the store's API, for the audit tamper
// test of the conformance suite (storetest.RawExecer).
func (db *DB) ExecRaw(ctx context.Context, query string) error {
	_, err := db.exec(ctx, query)
	return err
}
