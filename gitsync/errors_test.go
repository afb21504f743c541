package gitsync_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/gitsync/gittest"
)

// TestSyncErrors: whatever fails — a path or repository that does not
// exist, an empty one, a missing branch, a server that refuses the
// connection or the credentials — the client sees one and the same
// EINVALID text, naming the source, so errors cannot map the server's disk
// or network. What really failed is in the server log.
func TestSyncErrors(t *testing.T) {
	e := newEnv(t)
	up := gittest.New(t)
	up.Write("main", "org/general/a.sh", shDisk)
	up.Commit("main", "a")
	empty := gittest.New(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/private/"):
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "auth", http.StatusUnauthorized)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	key, host := sshKey(t, "")

	cases := []struct {
		src   gitsync.Source
		creds *gitsync.Credentials
		log   string // in the server log
	}{
		{gitsync.Source{ID: "no-branch", URL: up.Dir, Branch: "nope"}, nil, "couldn't find remote ref"},
		{gitsync.Source{ID: "no-repo", URL: filepath.Join(t.TempDir(), "missing")}, nil, "repository not found"},
		{gitsync.Source{ID: "empty", URL: empty.Dir}, nil, "remote repository is empty"},
		{gitsync.Source{ID: "http-404", URL: srv.URL + "/nothing.git"}, nil, "repository not found"},
		{gitsync.Source{ID: "http-401", URL: srv.URL + "/private/x.git"}, nil, "authentication required"},
		{gitsync.Source{ID: "refused", URL: "https://127.0.0.1:1/x.git"}, &gitsync.Credentials{Token: "t"}, "connection refused"},
		{gitsync.Source{ID: "ssh-refused", URL: "ssh://git@127.0.0.1:1/x.git", KnownHosts: host}, &gitsync.Credentials{SSHKey: key}, "connection refused"},
	}
	var first string
	for i, c := range cases {
		c.src.Prefix = "p" + string(rune('a'+i)) + "-"
		if _, _, err := e.sy.PutSource(e.ctx, tenant, gitsync.SourceInput{Source: c.src, Credentials: c.creds}); err != nil {
			t.Fatalf("%s: %v", c.src.ID, err)
		}
		_, err := e.sy.Sync(e.ctx, tenant, c.src.ID)
		msg := runbooker.ErrorMessage(err)
		// The same text for every case once the source's id and URL are
		// taken out.
		generic := strings.Replace(msg, fmt.Sprintf("sync source %q (%s)", c.src.ID, c.src.URL), "", 1)
		if first == "" {
			first = generic
		}
		if runbooker.ErrorCode(err) != runbooker.EINVALID || generic != first || generic == msg || !strings.Contains(msg, "cannot be read") {
			t.Errorf("%s: %v; want EINVALID %q after the source", c.src.ID, err, first)
		}
		if v, _ := e.sy.Source(e.ctx, tenant, c.src.ID); v == nil || v.LastSync == nil || v.LastSync.Error != msg {
			t.Errorf("%s: last sync status %+v", c.src.ID, v)
		}
		if logs := e.logs.String(); !strings.Contains(logs, "source="+c.src.ID+" ") || !strings.Contains(logs, c.log) {
			t.Errorf("%s: the log does not say %q:\n%s", c.src.ID, c.log, logs)
		}
	}
	t.Logf("every case: %s", first)
	if _, err := e.sy.Sync(e.ctx, tenant, "unknown"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("unknown source: %v", err)
	}
	reps, err := e.sy.SyncAll(e.ctx, tenant)
	if err != nil || len(reps) != len(cases) {
		t.Fatalf("sync all: %d reports, %v", len(reps), err)
	}
	for _, r := range reps {
		if r.Error == "" {
			t.Errorf("sync all: %s has no error", r.Source)
		}
	}
}

// TestSyncSerialised: concurrent syncs of one tenant run one at a time, so
// exactly one of them adds the runbooks and the others find them unchanged.
func TestSyncSerialised(t *testing.T) {
	e := newEnv(t)
	up := gittest.New(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		up.Write("main", "org/general/"+n+".sh", shDisk)
	}
	up.Commit("main", "five")
	e.source(gitsync.Source{ID: "rj", URL: up.Dir})
	const n = 4
	var wg sync.WaitGroup
	reps := make([]*gitsync.Report, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = e.sy.Sync(e.ctx, tenant, "rj")
		}()
	}
	wg.Wait()
	adders := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("sync %d: %v", i, errs[i])
		}
		switch {
		case len(reps[i].Added) == 5 && reps[i].Unchanged == 0:
			adders++
		case len(reps[i].Added) == 0 && reps[i].Unchanged == 5:
		default:
			t.Errorf("sync %d interleaved: %+v", i, reps[i])
		}
	}
	if adders != 1 {
		t.Errorf("%d syncs added the runbooks, want 1", adders)
	}
}

// TestService: the interval service syncs due sources only, on its clock.
func TestService(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := testConfig(filepath.Join(e.dir, "git"))
	cfg.Now = clock
	e.sy = gitsync.New(e.store, e.keys, cfg, quiet)
	up := gittest.New(t)
	up.Write("main", "org/general/a.sh", shDisk)
	up.Commit("main", "a")
	e.source(gitsync.Source{ID: "timed", URL: up.Dir, Interval: gitsync.Duration(time.Hour)})
	e.source(gitsync.Source{ID: "manual", URL: up.Dir, Prefix: "manual-"})

	svc := gitsync.NewService(e.sy, time.Hour)
	same(t, "first round", svc.RunDue(e.ctx), []string{"default/timed"})
	same(t, "same time", svc.RunDue(e.ctx), nil)
	mu.Lock()
	now = now.Add(59 * time.Minute)
	mu.Unlock()
	same(t, "before the interval", svc.RunDue(e.ctx), nil)
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	same(t, "after the interval", svc.RunDue(e.ctx), []string{"default/timed"})
	same(t, "synced", e.names(runbooker.RunbookFilter{}), []string{"rjgit-org_general_a"})

	// Started, it runs by itself and stops when asked.
	e.source(gitsync.Source{ID: "later", URL: up.Dir, Prefix: "later-", Interval: gitsync.Duration(time.Hour)})
	svc = gitsync.NewService(e.sy, 10*time.Millisecond)
	svc.Start(e.ctx)
	deadline := time.Now().Add(10 * time.Second)
	for len(e.names(runbooker.RunbookFilter{Prefix: "later-"})) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("service did not sync the new source")
		}
		time.Sleep(10 * time.Millisecond)
	}
	svc.Stop()
}

// TestSyncBrokenCache: a cache that cannot be used is cloned afresh.
func TestSyncBrokenCache(t *testing.T) {
	e := newEnv(t)
	up := gittest.New(t)
	up.Write("main", "org/general/a.sh", shDisk)
	up.Commit("main", "a")
	e.source(gitsync.Source{ID: "rj", URL: up.Dir})
	e.sync("rj")
	cache := filepath.Join(e.dir, "git", tenant, "rj")
	packs, _ := filepath.Glob(filepath.Join(cache, "objects", "pack", "*"))
	refs, _ := filepath.Glob(filepath.Join(cache, "refs", "remotes", "origin", "*"))
	if len(packs) == 0 || len(refs) == 0 {
		t.Fatalf("cache layout: packs %v refs %v", packs, refs)
	}
	for _, p := range append(packs, refs...) {
		if err := os.WriteFile(p, []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	up.Write("main", "org/general/b.sh", shDisk)
	up.Commit("main", "b")
	rep := e.sync("rj")
	same(t, "added", rep.Added, []string{"rjgit-org_general_b"})
	if rep.Unchanged != 1 {
		t.Errorf("report: %+v", rep)
	}
}
