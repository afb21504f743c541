package storetest

import (
	"strings"
	"sync"
	"testing"

	"github.com/runbooker/runbooker"
)

// Registration token limits: an expiry and a maximum number of uses, kept
// with the group; UseGroupToken counts atomically (of many concurrent
// registrations exactly TokenMaxUses succeed) and refuses an expired or
// used-up token with ECONFLICT; a new token hash starts counting at 0.
func testGroupTokenLimits(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	g := &runbooker.WorkerGroup{TenantID: tenantA, Name: group, TokenHash: runbooker.HashSecret("t1"), CreatedAt: at(1),
		TokenExpiresAt: at(100), TokenMaxUses: 5}
	ok(t, s.CreateGroup(ctx, g), "CreateGroup")
	got, err := s.Group(ctx, tenantA, group)
	ok(t, err, "Group")
	wantGroup(t, got, g)
	plain := &runbooker.WorkerGroup{TenantID: tenantB, Name: group, TokenHash: runbooker.HashSecret("t2"), CreatedAt: at(1)}
	ok(t, s.CreateGroup(ctx, plain), "CreateGroup without limits")

	_, err = s.UseGroupToken(ctx, runbooker.HashSecret("unknown"), at(2))
	wantCode(t, err, runbooker.ENOTFOUND, "UseGroupToken unknown")
	_, err = s.UseGroupToken(ctx, "", at(2))
	wantCode(t, err, runbooker.ENOTFOUND, "UseGroupToken of the empty hash")

	// 20 at once: exactly 5 succeed, each seeing its own count.
	var mu sync.Mutex
	var uses []int
	refused := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.UseGroupToken(ctx, g.TokenHash, at(2))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && got.TenantID == tenantA && got.Name == group:
				uses = append(uses, got.TokenUses)
			case runbooker.ErrorCode(err) == runbooker.ECONFLICT && strings.Contains(runbooker.ErrorMessage(err), "used 5 times"):
				refused++
			default:
				t.Errorf("UseGroupToken: %+v, %v", got, err)
			}
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, u := range uses {
		seen[u] = true
	}
	if len(uses) != 5 || refused != 15 || len(seen) != 5 || !seen[1] || !seen[5] {
		t.Fatalf("20 concurrent uses of a 5-use token: counts %v, %d refused", uses, refused)
	}
	got, err = s.Group(ctx, tenantA, group)
	ok(t, err, "Group after uses")
	if got.TokenUses != 5 {
		t.Fatalf("TokenUses = %d, want 5", got.TokenUses)
	}

	// A settings update with the same token keeps the count and sets limits.
	upd := *got
	upd.Capacity, upd.TokenMaxUses = 3, 6
	ok(t, s.UpdateGroup(ctx, &upd), "UpdateGroup same token")
	got, err = s.UseGroupToken(ctx, g.TokenHash, at(3))
	ok(t, err, "UseGroupToken after raising the limit")
	if got.TokenUses != 6 || got.Capacity != 3 {
		t.Fatalf("after raising the limit: %+v", got)
	}
	// Expired: at the expiry time and after.
	upd.TokenMaxUses = 0
	ok(t, s.UpdateGroup(ctx, &upd), "UpdateGroup without a use limit")
	_, err = s.UseGroupToken(ctx, g.TokenHash, at(99))
	ok(t, err, "UseGroupToken before expiry")
	_, err = s.UseGroupToken(ctx, g.TokenHash, at(100))
	wantCode(t, err, runbooker.ECONFLICT, "UseGroupToken at expiry")
	if !strings.Contains(runbooker.ErrorMessage(err), "expired") {
		t.Fatalf("expired token: %v", err)
	}

	// Rotation: a new hash starts at 0, with the limits given.
	rot := upd
	rot.TokenHash, rot.TokenExpiresAt, rot.TokenMaxUses = runbooker.HashSecret("t3"), at(200), 1
	ok(t, s.UpdateGroup(ctx, &rot), "UpdateGroup new token")
	got, err = s.Group(ctx, tenantA, group)
	ok(t, err, "Group after rotation")
	rot.TokenUses = 0
	wantGroup(t, got, &rot)
	got, err = s.UseGroupToken(ctx, rot.TokenHash, at(150))
	ok(t, err, "UseGroupToken new token")
	if got.TokenUses != 1 {
		t.Fatalf("new token's first use counted %d", got.TokenUses)
	}
	_, err = s.UseGroupToken(ctx, rot.TokenHash, at(150))
	wantCode(t, err, runbooker.ECONFLICT, "UseGroupToken past one use")
	_, err = s.UseGroupToken(ctx, g.TokenHash, at(150))
	wantCode(t, err, runbooker.ENOTFOUND, "UseGroupToken of the rotated-out token")

	// No limits: any number of uses, never expires.
	for i := range 3 {
		got, err := s.UseGroupToken(ctx, plain.TokenHash, at(1e6))
		ok(t, err, "UseGroupToken without limits")
		if got.TokenUses != i+1 || got.TenantID != tenantB {
			t.Fatalf("use %d of a token without limits: %+v", i+1, got)
		}
	}
}
