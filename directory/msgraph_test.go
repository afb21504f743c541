package directory

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

func TestGraph(t *testing.T) {
	f := newFakeGraph(t)
	d := f.directory(fakeSecret)
	ctx := context.Background()

	t.Run("lookup", func(t *testing.T) {
		for _, tc := range []struct {
			kind   Kind
			key    string
			wantID string
		}{
			{User, aliceID, aliceID},
			{User, "BOB@contoso.test", bobID},
			{Group, "60000000-0000-0000-0000-000000000002", "60000000-0000-0000-0000-000000000002"},
			{Group, "group 3", "60000000-0000-0000-0000-000000000003"},
			{Device, "laptop-01", laptopID},
		} {
			o, err := d.Lookup(ctx, tc.kind, tc.key)
			if err != nil || o.ID != tc.wantID || o.Kind != tc.kind {
				t.Errorf("Lookup(%s, %q) = %+v, %v; want id %s", tc.kind, tc.key, o, err, tc.wantID)
			}
		}
		o, err := d.Lookup(ctx, User, "alice@contoso.test")
		if err != nil || o.DisplayName != "Alice Adams" || o.Mail != "alice@contoso.test" || o.UserPrincipalName != "alice@contoso.test" {
			t.Errorf("alice = %+v, %v", o, err)
		}
		for _, tc := range []struct {
			kind Kind
			key  string
			code string
		}{
			{User, "nobody@contoso.test", runbooker.ENOTFOUND},
			{Group, "No Such Group", runbooker.ENOTFOUND},
			{Group, "60000000-0000-0000-0000-0000000000ff", runbooker.ENOTFOUND}, // an id, then a name, neither there
			{Device, "it's", runbooker.ENOTFOUND},                                // a quote in a filter value
			{Group, "Twin", runbooker.EINVALID},
			{User, "..", runbooker.ENOTFOUND}, // not a path to another resource
			{User, "", runbooker.EINVALID},
		} {
			_, err := d.Lookup(ctx, tc.kind, tc.key)
			if runbooker.ErrorCode(err) != tc.code {
				t.Errorf("Lookup(%s, %q): %v, want %s", tc.kind, tc.key, err, tc.code)
			}
		}
	})

	t.Run("device primary user", func(t *testing.T) {
		o, err := d.Lookup(ctx, Device, laptopID)
		if err != nil || o.PrimaryUser != aliceID || o.DisplayName != "LAPTOP-01" {
			t.Errorf("LAPTOP-01 = %+v, %v; want Alice as primary user", o, err)
		}
		if o, err := d.Lookup(ctx, Device, "KIOSK"); err != nil || o.PrimaryUser != "" {
			t.Errorf("KIOSK = %+v, %v; want no primary user", o, err)
		}
	})

	t.Run("search", func(t *testing.T) {
		names := func(kind Kind, q string, limit int) []string {
			t.Helper()
			objs, err := d.Search(ctx, kind, q, limit)
			if err != nil {
				t.Fatalf("Search(%s, %q): %v", kind, q, err)
			}
			var out []string
			for _, o := range objs {
				out = append(out, o.DisplayName)
			}
			return out
		}
		for _, tc := range []struct {
			kind  Kind
			q     string
			limit int
			want  []string
		}{
			{User, "", 10, []string{"Alice Adams", "Bob Brown", "Liam O'Brien"}},
			{User, "", 2, []string{"Alice Adams", "Bob Brown"}},
			{User, "bob@", 10, []string{"Bob Brown"}}, // by userPrincipalName
			{User, "Liam O'", 10, []string{"Liam O'Brien"}},
			{User, "x') or startswith(displayName,'", 10, nil},
			{Group, "group", 3, []string{"Group 0", "Group 1", "Group 2"}},
			{Device, "LAP", 10, []string{"LAPTOP-01"}},
		} {
			if got := names(tc.kind, tc.q, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("Search(%s, %q, %d) = %q, want %q", tc.kind, tc.q, tc.limit, got, tc.want)
			}
		}
		devices, err := d.Search(ctx, Device, "LAP", 10)
		if err != nil || devices[0].PrimaryUser != aliceID {
			t.Errorf("Search fills in the primary user: %+v, %v", devices, err)
		}
	})

	t.Run("memberOf pages", func(t *testing.T) {
		got, err := d.MemberOf(ctx, User, aliceID)
		want := []string{"60000000-0000-0000-0000-000000000000", "60000000-0000-0000-0000-000000000001",
			"60000000-0000-0000-0000-000000000002", "60000000-0000-0000-0000-000000000003", "60000000-0000-0000-0000-000000000004"}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("MemberOf(alice) = %q, %v; want all five groups over three pages", got, err)
		}
		if n := f.count("users/" + aliceID + "/transitiveMemberOf/microsoft.graph.group"); n != 3 {
			t.Errorf("%d requests for alice's groups, want 3 pages", n)
		}
		if got, err := d.MemberOf(ctx, Device, laptopID); err != nil || len(got) != 1 {
			t.Errorf("MemberOf(laptop) = %q, %v", got, err)
		}
		if got, err := d.MemberOf(ctx, Group, "60000000-0000-0000-0000-000000000001"); err != nil || len(got) != 1 {
			t.Errorf("MemberOf(group 1) = %q, %v", got, err)
		}
		if got, err := d.MemberOf(ctx, User, bobID); err != nil || got == nil || len(got) != 0 {
			t.Errorf("MemberOf(bob) = %#v, %v; want an empty list", got, err)
		}
		if _, err := d.MemberOf(ctx, User, "a0000000-0000-0000-0000-0000000000ff"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			t.Errorf("MemberOf of an unknown user: %v, want ENOTFOUND", err)
		}
	})

	t.Run("one token", func(t *testing.T) {
		f.mu.Lock()
		n := f.tokens
		f.mu.Unlock()
		if n != 1 {
			t.Errorf("%d tokens were requested for all these calls, want 1", n)
		}
	})
}

func TestGraphToken(t *testing.T) {
	f := newFakeGraph(t)
	d := f.directory(fakeSecret)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	d.c.now = func() time.Time { return now }
	ctx := context.Background()
	tokens := func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.tokens }

	for range 3 {
		if _, err := d.Lookup(ctx, User, aliceID); err != nil {
			t.Fatal(err)
		}
	}
	if tokens() != 1 {
		t.Fatalf("%d tokens for three calls, want 1", tokens())
	}
	now = now.Add(50 * time.Minute) // the token lasts an hour
	d.Lookup(ctx, User, aliceID)
	if tokens() != 1 {
		t.Errorf("a token with ten minutes left was renewed")
	}
	now = now.Add(9 * time.Minute) // shortly before it expires
	if _, err := d.Lookup(ctx, User, aliceID); err != nil {
		t.Fatal(err)
	}
	if tokens() != 2 {
		t.Errorf("a token about to expire was not renewed (%d tokens)", tokens())
	}

	// Graph stops accepting the token early: one new token, one retry.
	f.mu.Lock()
	f.valid = "revoked"
	f.mu.Unlock()
	if _, err := d.Lookup(ctx, User, aliceID); err != nil {
		t.Errorf("after the token was revoked: %v", err)
	}
	if tokens() != 3 {
		t.Errorf("%d tokens, want a third after the revocation", tokens())
	}

	bad := f.directory("wrong secret")
	_, err := bad.Lookup(ctx, User, aliceID)
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || !strings.Contains(runbooker.ErrorMessage(err), "AADSTS7000215") ||
		strings.Contains(runbooker.ErrorMessage(err), "Trace ID") || strings.Contains(err.Error(), "wrong secret") {
		t.Errorf("a wrong client secret: %v; want EUNAVAILABLE with the AADSTS code, without the secret", err)
	}
}

func TestGraphUnavailable(t *testing.T) {
	f := newFakeGraph(t)
	d := f.directory(fakeSecret)
	var waits []time.Duration
	d.c.wait = func(ctx context.Context, w time.Duration) error { waits = append(waits, w); return nil }
	ctx := context.Background()
	path := "users/" + aliceID
	throttle := func(retryAfter string, codes ...int) {
		f.mu.Lock()
		f.throttle[path], f.retryAt, f.requests[path] = codes, retryAfter, 0
		f.mu.Unlock()
		waits = nil
	}

	throttle("2", http.StatusTooManyRequests)
	if _, err := d.Lookup(ctx, User, aliceID); err != nil {
		t.Errorf("one 429 with Retry-After 2 is waited out: %v", err)
	}
	if !slices.Equal(waits, []time.Duration{2 * time.Second}) || f.count(path) != 2 {
		t.Errorf("waited %v over %d requests, want one wait of 2s and 2 requests", waits, f.count(path))
	}

	throttle("0", http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	_, err := d.Lookup(ctx, User, aliceID)
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || f.count(path) != 2 {
		t.Errorf("a lasting 503: %v after %d requests; want EUNAVAILABLE after 2", err, f.count(path))
	}

	throttle("120", http.StatusTooManyRequests)
	_, err = d.Lookup(ctx, User, aliceID)
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || f.count(path) != 1 || len(waits) != 0 {
		t.Errorf("Retry-After 120: %v after %d requests and waits %v; want EUNAVAILABLE at once", err, f.count(path), waits)
	}

	throttle("", http.StatusInternalServerError)
	if _, err = d.Lookup(ctx, User, aliceID); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || f.count(path) != 1 {
		t.Errorf("a 500 without Retry-After: %v after %d requests", err, f.count(path))
	}

	f.mu.Lock()
	f.foreignNextLink = true
	f.mu.Unlock()
	if _, err := d.MemberOf(ctx, User, aliceID); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE ||
		!strings.Contains(runbooker.ErrorMessage(err), "another host") {
		t.Errorf("a nextLink to another host: %v; want EUNAVAILABLE and the token kept home", err)
	}

	f.srv.Close()
	if _, err := d.Lookup(ctx, User, bobID); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Errorf("Graph down: %v, want EUNAVAILABLE", err)
	}
	fresh := f.directory(fakeSecret)
	if _, err := fresh.Search(ctx, User, "", 5); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Errorf("token endpoint down: %v, want EUNAVAILABLE", err)
	}
}
