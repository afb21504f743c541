package directory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// cacheFixture is a static directory file the test rewrites, read through
// Cached; both run on one clock the test moves.
type cacheFixture struct {
	t    *testing.T
	path string
	now  time.Time
	file *staticFile
}

func newCacheFixture(t *testing.T, doc string) *cacheFixture {
	fx := &cacheFixture{t: t, path: filepath.Join(t.TempDir(), "directory.json"), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	fx.write(doc)
	f, err := openStaticFile(fx.path, fx.clock)
	if err != nil {
		t.Fatal(err)
	}
	fx.file = f
	return fx
}

func (fx *cacheFixture) clock() time.Time { return fx.now }

// write replaces the file with a new modification time.
func (fx *cacheFixture) write(doc string) {
	fx.t.Helper()
	if err := os.WriteFile(fx.path, []byte(doc), 0o600); err != nil {
		fx.t.Fatal(err)
	}
	mtime := fx.now.Add(time.Hour)
	if err := os.Chtimes(fx.path, mtime, mtime); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *cacheFixture) name(d Directory, key string) string {
	fx.t.Helper()
	o, err := d.Lookup(context.Background(), User, key)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return "(not found)"
	}
	if err != nil {
		fx.t.Fatal(err)
	}
	return o.DisplayName
}

const (
	cacheDocBefore = `{"users": [{"id": "u1", "userPrincipalName": "one@x", "displayName": "One"}],
		"groups": [{"id": "g1", "members": ["u1"]}, {"id": "g2"}]}`
	cacheDocAfter = `{"users": [{"id": "u1", "userPrincipalName": "one@x", "displayName": "Uno"}, {"id": "u2", "displayName": "Two"}],
		"groups": [{"id": "g1", "members": ["u1"]}, {"id": "g2", "members": ["u1"]}]}`
)

func TestCachedExpiry(t *testing.T) {
	fx := newCacheFixture(t, cacheDocBefore)
	c := Cached(fx.file, time.Minute, fx.clock)
	ctx := context.Background()

	if got := fx.name(c, "u1"); got != "One" {
		t.Fatalf("u1 = %s", got)
	}
	if got := fx.name(c, "u2"); got != "(not found)" {
		t.Fatalf("u2 = %s", got)
	}
	if ids, err := c.MemberOf(ctx, User, "u1"); err != nil || !slices.Equal(ids, []string{"g1"}) {
		t.Fatalf("MemberOf(u1) = %q, %v", ids, err)
	}

	fx.write(cacheDocAfter)
	fx.now = fx.now.Add(2 * time.Second)
	if got := fx.name(fx.file, "u1"); got != "Uno" {
		t.Fatalf("the file itself has moved on, but u1 = %s", got)
	}
	if got := fx.name(c, "U1"); got != "One" {
		t.Errorf("within the TTL (and in another case) the cached answer stays: %s", got)
	}
	if got := fx.name(c, "u2"); got != "(not found)" {
		t.Errorf("a fresh not-found answer is kept briefly: %s", got)
	}
	if ids, _ := c.MemberOf(ctx, User, "u1"); !slices.Equal(ids, []string{"g1"}) {
		t.Errorf("MemberOf within the TTL = %q", ids)
	}
	// Search is never cached.
	if objs, _ := c.Search(ctx, User, "", 10); len(objs) != 2 {
		t.Errorf("Search through the cache = %+v, want the current two users", objs)
	}

	fx.now = fx.now.Add(29 * time.Second) // 31s after the first answers
	if got := fx.name(c, "u2"); got != "Two" {
		t.Errorf("not-found answers expire after 30 seconds, u2 = %s", got)
	}
	if got := fx.name(c, "u1"); got != "One" {
		t.Errorf("found answers last the TTL, u1 = %s", got)
	}

	fx.now = fx.now.Add(30 * time.Second) // 61s
	if got := fx.name(c, "u1"); got != "Uno" {
		t.Errorf("after the TTL u1 = %s", got)
	}
	if ids, _ := c.MemberOf(ctx, User, "u1"); !slices.Equal(ids, []string{"g1", "g2"}) {
		t.Errorf("MemberOf after the TTL = %q", ids)
	}
}

func TestCachedCopiesAnswers(t *testing.T) {
	fx := newCacheFixture(t, cacheDocBefore)
	c := Cached(fx.file, time.Minute, fx.clock)
	ctx := context.Background()
	o, _ := c.Lookup(ctx, User, "u1")
	o.DisplayName = "scribbled"
	ids, _ := c.MemberOf(ctx, User, "u1")
	ids[0] = "scribbled"
	if got := fx.name(c, "u1"); got != "One" {
		t.Errorf("a caller's change reached the cache: %s", got)
	}
	if ids, _ := c.MemberOf(ctx, User, "u1"); ids[0] != "g1" {
		t.Errorf("a caller's change reached the cached groups: %q", ids)
	}
}

// failing answers EUNAVAILABLE while down is set and asks the directory
// it wraps otherwise.
type failing struct {
	Directory
	down bool
}

func (f *failing) Lookup(ctx context.Context, kind Kind, key string) (*Object, error) {
	if f.down {
		return nil, runbooker.Errorf(runbooker.EUNAVAILABLE, "down")
	}
	return f.Directory.Lookup(ctx, kind, key)
}

func TestCachedKeepsNoFailures(t *testing.T) {
	fx := newCacheFixture(t, cacheDocBefore)
	f := &failing{Directory: fx.file, down: true}
	c := Cached(f, time.Minute, fx.clock)
	if _, err := c.Lookup(context.Background(), User, "u1"); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Fatalf("while down: %v", err)
	}
	f.down = false
	if got := fx.name(c, "u1"); got != "One" {
		t.Errorf("an outage was remembered: u1 = %s", got)
	}
}

func TestCachedIsBounded(t *testing.T) {
	fx := newCacheFixture(t, `{"users": [{"id": "a", "displayName": "A"}, {"id": "b", "displayName": "B"}, {"id": "c", "displayName": "C"}]}`)
	c := newCached(fx.file, time.Hour, fx.clock, 2)
	fx.name(c, "a")
	fx.name(c, "b")
	fx.name(c, "a") // a is now more recently used than b
	fx.name(c, "c") // evicts b
	fx.write(`{"users": [{"id": "a", "displayName": "A2"}, {"id": "b", "displayName": "B2"}, {"id": "c", "displayName": "C2"}]}`)
	fx.now = fx.now.Add(2 * time.Second)
	if got := fx.name(c, "b"); got != "B2" {
		t.Errorf("the least recently used answer was kept: b = %s", got)
	}
	if got := fx.name(c, "c"); got != "C" {
		t.Errorf("a recent answer was dropped: c = %s", got)
	}
	if n := c.(*cached).lru.Len(); n != 2 {
		t.Errorf("the cache holds %d answers, bound 2", n)
	}
}

// authenticating is a directory that can also check passwords.
type authenticating struct{ Directory }

func (a authenticating) Authenticate(ctx context.Context, login, password string) (*Object, error) {
	if password != "right" {
		return nil, runbooker.Errorf(runbooker.EUNAUTHORIZED, "invalid user name or password")
	}
	return a.Lookup(ctx, User, login)
}

func TestCachedAuthenticator(t *testing.T) {
	fx := newCacheFixture(t, cacheDocBefore)
	if _, ok := AsAuthenticator(Cached(fx.file, time.Minute, nil)); ok {
		t.Error("Cached of a directory without passwords claims to check them")
	}
	a, ok := AsAuthenticator(Cached(authenticating{fx.file}, time.Minute, nil))
	if !ok {
		t.Fatal("Cached hid the Authenticator")
	}
	ctx := context.Background()
	if o, err := a.Authenticate(ctx, "one@x", "right"); err != nil || o.ID != "u1" {
		t.Errorf("Authenticate = %+v, %v", o, err)
	}
	if _, err := a.Authenticate(ctx, "one@x", "wrong"); runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
		t.Errorf("a wrong password after a right one: %v (sign-ins must never be cached)", err)
	}
}

// TestCachedConcurrent has callers share a small cache; run it with -race.
func TestCachedConcurrent(t *testing.T) {
	fx := newCacheFixture(t, `{"users": [{"id": "a", "displayName": "A"}, {"id": "b", "displayName": "B"}, {"id": "c", "displayName": "C"}],
		"groups": [{"id": "g", "members": ["a", "b", "c"]}]}`)
	c := newCached(fx.file, time.Hour, fx.clock, 2)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8*100)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				key := []string{"a", "b", "c", "missing"}[(i+j)%4]
				o, err := c.Lookup(ctx, User, key)
				switch {
				case key == "missing" && runbooker.ErrorCode(err) != runbooker.ENOTFOUND:
					errs <- err
				case key != "missing" && (err != nil || o.ID != key):
					errs <- fmt.Errorf("Lookup(%s) = %+v, %v", key, o, err)
				}
				if key != "missing" {
					if ids, err := c.MemberOf(ctx, User, key); err != nil || !slices.Equal(ids, []string{"g"}) {
						errs <- fmt.Errorf("MemberOf(%s) = %q, %v", key, ids, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
