package gitsync

import "context"

// Reseal re-encrypts every sealed source credential of the given tenants
// under the keyring's current key (master-key rotation), returning how many
// it re-sealed. The keyring must still hold the old keys.
func (s *Syncer) Reseal(ctx context.Context, tenantIDs []string) (int, error) {
	n := 0
	for _, tenant := range tenantIDs {
		unlock, err := s.lock(ctx, tenant)
		if err != nil {
			return n, err
		}
		changed, err := s.resealTenant(ctx, tenant)
		unlock()
		if err != nil {
			return n, err
		}
		n += changed
	}
	return n, nil
}

func (s *Syncer) resealTenant(ctx context.Context, tenant string) (int, error) {
	d, err := s.loadDoc(ctx, tenant)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range d.Sources {
		ss := &d.Sources[i]
		if ss.Secret == nil || ss.Secret.KeyID == s.keys.Current() {
			continue
		}
		c, err := s.unseal(tenant, ss)
		if err != nil {
			return n, err
		}
		if ss.Secret, err = s.seal(tenant, ss.ID, c); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		return n, s.saveDoc(ctx, tenant, d)
	}
	return 0, nil
}
