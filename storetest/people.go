package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// Users: a UPN is unique per tenant without regard to case, looked up
// without regard to case, and kept as first written; tenants do not see
// each other's users.
func testUsers(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	ada := &runbooker.User{TenantID: tenantA, UPN: "Ada@Example.com", DisplayName: "Ada Lovelace",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$a2V5", CreatedAt: at(1)}
	ok(t, s.CreateUser(ctx, ada), "CreateUser ada")
	if ada.ID == "" || !ada.UpdatedAt.Equal(at(1)) {
		t.Fatalf("CreateUser filled ID %q, UpdatedAt %v; want an id and UpdatedAt = CreatedAt", ada.ID, ada.UpdatedAt)
	}
	wantCode(t, s.CreateUser(ctx, &runbooker.User{TenantID: tenantA, UPN: "ADA@example.COM"}), runbooker.ECONFLICT,
		"CreateUser with the same UPN in another case")
	wantCode(t, s.CreateUser(ctx, &runbooker.User{TenantID: tenantA}), runbooker.EINVALID, "CreateUser without a UPN")
	bob := &runbooker.User{TenantID: tenantA, UPN: "bob@example.com", CreatedAt: at(2)}
	ok(t, s.CreateUser(ctx, bob), "CreateUser bob")
	adaB := &runbooker.User{TenantID: tenantB, UPN: "ada@example.com", DisplayName: "Another Ada", CreatedAt: at(3)}
	ok(t, s.CreateUser(ctx, adaB), "CreateUser ada in tenant B")

	got, err := s.User(ctx, tenantA, "ada@EXAMPLE.com")
	ok(t, err, "User in another case")
	if got.ID != ada.ID || got.UPN != "Ada@Example.com" || got.DisplayName != ada.DisplayName ||
		got.PasswordHash != ada.PasswordHash || got.Disabled || got.TenantID != tenantA {
		t.Errorf("User = %+v, want %+v", got, ada)
	}
	wantTime(t, got.CreatedAt, at(1), "User.CreatedAt")
	wantTime(t, got.UpdatedAt, at(1), "User.UpdatedAt")
	_, err = s.User(ctx, tenantA, "nobody@example.com")
	wantCode(t, err, runbooker.ENOTFOUND, "User unknown")
	_, err = s.User(ctx, "tenant-none", "ada@example.com")
	wantCode(t, err, runbooker.ENOTFOUND, "User of a tenant without it")

	upns := func(tenant string) []string {
		us, err := s.ListUsers(ctx, tenant)
		ok(t, err, "ListUsers")
		var out []string
		for _, u := range us {
			out = append(out, u.UPN)
		}
		return out
	}
	if got := upns(tenantA); !slices.Equal(got, []string{"Ada@Example.com", "bob@example.com"}) {
		t.Fatalf("ListUsers(A) = %v", got)
	}
	if got := upns(tenantB); !slices.Equal(got, []string{"ada@example.com"}) {
		t.Fatalf("ListUsers(B) = %v", got)
	}

	upd := &runbooker.User{TenantID: tenantA, UPN: "ADA@EXAMPLE.COM", DisplayName: "Countess Lovelace",
		PasswordHash: "new-hash", Disabled: true, UpdatedAt: at(10)}
	ok(t, s.UpdateUser(ctx, upd), "UpdateUser")
	if upd.ID != ada.ID || upd.UPN != "Ada@Example.com" || !upd.CreatedAt.Equal(at(1)) {
		t.Errorf("UpdateUser wrote back id %q, UPN %q, CreatedAt %v; want the stored ones", upd.ID, upd.UPN, upd.CreatedAt)
	}
	got, err = s.User(ctx, tenantA, "ada@example.com")
	ok(t, err, "User after update")
	if got.DisplayName != "Countess Lovelace" || got.PasswordHash != "new-hash" || !got.Disabled {
		t.Errorf("User after update = %+v", got)
	}
	wantTime(t, got.UpdatedAt, at(10), "UpdatedAt after update")
	wantTime(t, got.CreatedAt, at(1), "CreatedAt after update")
	got, err = s.User(ctx, tenantB, "ada@example.com")
	ok(t, err, "User of B after A's update")
	if got.DisplayName != "Another Ada" || got.Disabled {
		t.Errorf("tenant A's update changed tenant B's user: %+v", got)
	}
	wantCode(t, s.UpdateUser(ctx, &runbooker.User{TenantID: tenantA, UPN: "nobody@example.com"}), runbooker.ENOTFOUND,
		"UpdateUser unknown")

	wantCode(t, s.DeleteUser(ctx, "tenant-none", "ada@example.com"), runbooker.ENOTFOUND, "DeleteUser in another tenant")
	ok(t, s.DeleteUser(ctx, tenantA, "aDa@example.com"), "DeleteUser in another case")
	wantCode(t, s.DeleteUser(ctx, tenantA, "ada@example.com"), runbooker.ENOTFOUND, "DeleteUser twice")
	if got := upns(tenantA); !slices.Equal(got, []string{"bob@example.com"}) {
		t.Fatalf("ListUsers(A) after delete = %v", got)
	}
	if got := upns(tenantB); len(got) != 1 {
		t.Fatalf("tenant A's delete removed tenant B's user: %v", got)
	}
	// The UPN is free again.
	ok(t, s.CreateUser(ctx, &runbooker.User{TenantID: tenantA, UPN: "ada@example.com", CreatedAt: at(20)}), "CreateUser after delete")
}

// Sessions: looked up by token hash in any tenant; touched, deleted one by
// one or per person (without regard to case), purged when expired or idle.
func testSessions(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	mk := func(tenant, upn string, created, expires float64, groups []string) *runbooker.Session {
		x := &runbooker.Session{TenantID: tenant, IDHash: runbooker.HashSecret(runbooker.NewSecret()), UserID: runbooker.NewID(),
			UPN: upn, DisplayName: "Name of " + upn, Method: runbooker.SignInOIDC, Groups: groups,
			CreatedAt: at(created), ExpiresAt: at(expires)}
		ok(t, s.CreateSession(ctx, x), "CreateSession "+upn)
		return x
	}
	s1 := mk(tenantA, "ada@example.com", 0, 3600, []string{"grp-1", "Helpdesk Ä"})
	s2 := mk(tenantA, "ADA@example.com", 5, 3600, nil)
	s3 := mk(tenantB, "ada@example.com", 5, 3600, nil)
	s4 := mk(tenantA, "bob@example.com", 5, 3600, nil)

	got, err := s.Session(ctx, s1.IDHash)
	ok(t, err, "Session")
	if got.TenantID != tenantA || got.IDHash != s1.IDHash || got.UserID != s1.UserID || got.UPN != s1.UPN ||
		got.DisplayName != s1.DisplayName || got.Method != runbooker.SignInOIDC || !reflect.DeepEqual(got.Groups, s1.Groups) {
		t.Errorf("Session = %+v, want %+v", got, s1)
	}
	wantTime(t, got.CreatedAt, at(0), "Session.CreatedAt")
	wantTime(t, got.LastSeenAt, at(0), "Session.LastSeenAt (defaults to CreatedAt)")
	wantTime(t, got.ExpiresAt, at(3600), "Session.ExpiresAt")
	if got.Expired(at(3599)) || !got.Expired(at(3600)) {
		t.Error("Expired: a session is valid until, not at, its ExpiresAt")
	}
	got, err = s.Session(ctx, s2.IDHash)
	ok(t, err, "Session without groups")
	if got.Groups != nil {
		t.Errorf("Session without groups has Groups %#v, want nil", got.Groups)
	}
	_, err = s.Session(ctx, runbooker.HashSecret("unknown"))
	wantCode(t, err, runbooker.ENOTFOUND, "Session unknown")

	dup := *s4
	dup.TenantID = tenantB
	wantCode(t, s.CreateSession(ctx, &dup), runbooker.ECONFLICT, "CreateSession with a taken id hash")
	bad := *s4
	bad.IDHash, bad.Method = runbooker.HashSecret("x"), "magic"
	wantCode(t, s.CreateSession(ctx, &bad), runbooker.EINVALID, "CreateSession with an unknown method")

	ok(t, s.TouchSession(ctx, s1.IDHash, at(100)), "TouchSession")
	got, err = s.Session(ctx, s1.IDHash)
	ok(t, err, "Session after touch")
	wantTime(t, got.LastSeenAt, at(100), "LastSeenAt after touch")
	wantCode(t, s.TouchSession(ctx, runbooker.HashSecret("unknown"), at(100)), runbooker.ENOTFOUND, "TouchSession unknown")

	n, err := s.DeleteUserSessions(ctx, tenantA, "Ada@Example.COM")
	ok(t, err, "DeleteUserSessions")
	if n != 2 {
		t.Errorf("DeleteUserSessions deleted %d, want 2", n)
	}
	for _, x := range []*runbooker.Session{s1, s2} {
		_, err := s.Session(ctx, x.IDHash)
		wantCode(t, err, runbooker.ENOTFOUND, "Session after DeleteUserSessions")
	}
	for _, x := range []*runbooker.Session{s3, s4} { // the other tenant's Ada, and Bob
		_, err := s.Session(ctx, x.IDHash)
		ok(t, err, "Session of someone else after DeleteUserSessions")
	}
	n, err = s.DeleteUserSessions(ctx, tenantA, "ada@example.com")
	ok(t, err, "DeleteUserSessions again")
	if n != 0 {
		t.Errorf("DeleteUserSessions again deleted %d, want 0", n)
	}

	ok(t, s.DeleteSession(ctx, s4.IDHash), "DeleteSession")
	wantCode(t, s.DeleteSession(ctx, s4.IDHash), runbooker.ENOTFOUND, "DeleteSession twice")

	// Purge at 1000 with idleness before 900: s3 (seen at 5) is idle.
	expired := mk(tenantA, "exp@example.com", 950, 1000, nil) // expires exactly at now
	live := mk(tenantA, "live@example.com", 950, 5000, nil)
	idle := mk(tenantA, "idle@example.com", 899, 5000, nil)
	edge := mk(tenantA, "edge@example.com", 900, 5000, nil) // seen exactly at the idle cutoff: kept
	n, err = s.PurgeSessions(ctx, at(1000), time.Time{})
	ok(t, err, "PurgeSessions without an idle cutoff")
	if n != 1 {
		t.Errorf("PurgeSessions(expired only) = %d, want 1", n)
	}
	n, err = s.PurgeSessions(ctx, at(1000), at(900))
	ok(t, err, "PurgeSessions")
	if n != 2 {
		t.Errorf("PurgeSessions = %d, want 2 (the idle one and tenant B's)", n)
	}
	for _, x := range []*runbooker.Session{expired, idle, s3} {
		_, err := s.Session(ctx, x.IDHash)
		wantCode(t, err, runbooker.ENOTFOUND, "Session "+x.UPN+" after purge")
	}
	for _, x := range []*runbooker.Session{live, edge} {
		_, err := s.Session(ctx, x.IDHash)
		ok(t, err, "Session "+x.UPN+" after purge")
	}
}

// A credential's bound user round-trips through every credential call.
func testCredentialUser(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	bound := &runbooker.Credential{TenantID: tenantA, Name: "ada-cli", Role: runbooker.RoleOperator,
		SecretHash: runbooker.HashSecret("s1"), CreatedAt: at(1), User: "ada@example.com"}
	unbound := &runbooker.Credential{TenantID: tenantA, Name: "ci", Role: runbooker.RoleOperator,
		SecretHash: runbooker.HashSecret("s2"), CreatedAt: at(2)}
	ok(t, s.CreateCredential(ctx, bound), "CreateCredential bound")
	ok(t, s.CreateCredential(ctx, unbound), "CreateCredential unbound")
	got, err := s.Credential(ctx, bound.ID)
	ok(t, err, "Credential bound")
	if got.User != "ada@example.com" {
		t.Errorf("Credential.User = %q, want ada@example.com", got.User)
	}
	got, err = s.Credential(ctx, unbound.ID)
	ok(t, err, "Credential unbound")
	if got.User != "" {
		t.Errorf("unbound Credential.User = %q, want empty", got.User)
	}
	cs, err := s.ListCredentials(ctx, tenantA)
	ok(t, err, "ListCredentials")
	users := map[string]string{}
	for _, c := range cs {
		users[c.Name] = c.User
	}
	if users["ada-cli"] != "ada@example.com" || users["ci"] != "" || len(users) != 2 {
		t.Errorf("ListCredentials users = %v", users)
	}
}

// A job's target is stored with it and comes back from every call that
// returns jobs; a job without one has a nil Target.
func testJobTarget(t *testing.T, s runbooker.Store) {
	ctx := t.Context()
	target := &runbooker.JobTarget{Kind: "user", ID: "0b5e-ada", Name: "ada@example.com"}
	j := newJob(tenantA, group, at(1))
	j.Target = target
	createJob(t, s, j)
	plain := createJob(t, s, newJob(tenantA, group, at(2)))
	if got := getJob(t, s, tenantA, j.ID).Target; !reflect.DeepEqual(got, target) {
		t.Errorf("Job.Target = %+v, want %+v", got, target)
	}
	if got := getJob(t, s, tenantA, plain.ID).Target; got != nil {
		t.Errorf("Job.Target of a job without one = %+v, want nil", got)
	}
	page, err := s.ListJobs(ctx, tenantA, runbooker.JobFilter{})
	ok(t, err, "ListJobs")
	for _, g := range page.Jobs {
		if want := map[string]*runbooker.JobTarget{j.ID: target}[g.ID]; !reflect.DeepEqual(g.Target, want) {
			t.Errorf("ListJobs: job %s Target = %+v, want %+v", g.ID, g.Target, want)
		}
	}
	c := claimOne(t, s, tenantA, worker1, at(3), at(60))
	if c.ID != j.ID || !reflect.DeepEqual(c.Target, target) {
		t.Errorf("claimed job %s with Target %+v, want %s with %+v", c.ID, c.Target, j.ID, target)
	}
	fin, err := s.FinishJob(ctx, runbooker.FinishParams{Ref: ref(c), Status: runbooker.StatusCompleted, Now: at(4)})
	ok(t, err, "FinishJob")
	if !reflect.DeepEqual(fin.Target, target) {
		t.Errorf("FinishJob's job Target = %+v, want %+v", fin.Target, target)
	}

	dev := &runbooker.JobTarget{Kind: "device", ID: "dev-1", Name: "LAPTOP-7"}
	batch := []*runbooker.Job{newJob(tenantA, group, at(5)), newJob(tenantA, group, at(6))}
	batch[0].Target = dev
	ok(t, s.CreateJobs(ctx, batch), "CreateJobs")
	if got := getJob(t, s, tenantA, batch[0].ID).Target; !reflect.DeepEqual(got, dev) {
		t.Errorf("CreateJobs: Target = %+v, want %+v", got, dev)
	}
	if got := getJob(t, s, tenantA, batch[1].ID).Target; got != nil {
		t.Errorf("CreateJobs: Target of a job without one = %+v", got)
	}
}
