package gitsync_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/gitsync/gittest"
)

// countingListener is a loopback port that counts the connections made to
// it and serves none.
func countingListener(t *testing.T, addr string) (port string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, accepted
}

// policyEnv is an env whose syncer has the server's defaults (no local
// repositories, no allow-list) or the given hosts.
func policyEnv(t *testing.T, allowLocal bool, hosts string) *env {
	e := newEnv(t)
	h, err := gitsync.ParseHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	e.sy = gitsync.New(e.store, e.keys, gitsync.Config{Dir: filepath.Join(e.dir, "git"), AllowLocal: allowLocal, AllowedHosts: h}, quiet)
	return e
}

// TestSourcePolicyOnSave: what the URL alone tells is refused when the
// source is saved, with a 400 saying why: local repositories without
// AllowLocal, loopback, link-local and unspecified addresses in every
// spelling, hosts off the allow-list, and URLs that are commands or options.
func TestSourcePolicyOnSave(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		allowLocal bool
		hosts, url string
		want       string // "" accepted
	}{
		{false, "", dir, "not allowed on this server"},
		{false, "", "file://" + dir, "not allowed on this server"},
		{true, "", dir, ""},
		{true, "", "file://" + dir, ""},
		{false, "", "https://github.com/realmjoin/realmjoin-runbooks.git", ""},
		{false, "", "https://127.0.0.1/x.git", "loopback"},
		{false, "", "https://127.8.9.10:8443/x.git", "loopback"},
		{false, "", "http://[::1]:80/x.git", "loopback"},
		{false, "", "http://[::ffff:127.0.0.1]/x.git", "loopback"},
		{false, "", "http://[::ffff:7f00:1]/x.git", "loopback"},
		{false, "", "http://[64:ff9b::127.0.0.1]/x.git", "loopback"},
		{false, "", "http://[::127.0.0.1]/x.git", "loopback"},
		{false, "", "http://169.254.169.254/latest/meta-data", "link-local"},
		{false, "", "http://[fe80::1]/x.git", "link-local"},
		{false, "", "http://0.0.0.0/x.git", "unspecified"},
		{false, "", "http://[::]/x.git", "unspecified"},
		{false, "", "ssh://git@127.0.0.1/x.git", "loopback"},
		{false, "127.0.0.1", "https://127.0.0.1/x.git", ""},
		{false, "127.0.0.0/8", "https://127.8.9.10/x.git", ""},
		{false, "git.example.com, *.corp.example", "https://git.example.com/x.git", ""},
		{false, "git.example.com, *.corp.example", "https://GIT.example.com./x.git", ""},
		{false, "git.example.com, *.corp.example", "https://git.eu.corp.example/x.git", ""},
		{false, "git.example.com, *.corp.example", "https://github.com/x.git", "not in the server's list of allowed hosts"},
		{false, "git.example.com, *.corp.example", "https://corp.example/x.git", "not in the server's list of allowed hosts"},
		{false, "git.example.com", "https://10.0.0.1/x.git", "not in --sync-allowed-hosts"},
		{true, "", "ext::sh -c touch% /tmp/pwned", "must be https://"},
		{true, "", "--upload-pack=touch /tmp/pwned", "must be https://"},
		{true, "", "ssh://-oProxyCommand=touch%20x/repo.git", "url"},
		{true, "", "-oProxyCommand=x@host:repo.git", "url"},
		{true, "", "git://github.com/x.git", "must be https://"},
	}
	for i, c := range cases {
		e := policyEnv(t, c.allowLocal, c.hosts)
		src := gitsync.Source{ID: "s", URL: c.url}
		var creds *gitsync.Credentials
		if strings.HasPrefix(c.url, "ssh://") {
			key, host := sshKey(t, "")
			src.KnownHosts, creds = host, &gitsync.Credentials{SSHKey: key}
		}
		_, _, err := e.sy.PutSource(e.ctx, tenant, gitsync.SourceInput{Source: src, Credentials: creds})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%d %s (hosts %q): %v", i, c.url, c.hosts, err)
		case c.want != "" && (runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), c.want)):
			t.Errorf("%d %s (hosts %q): %v; want EINVALID containing %q", i, c.url, c.hosts, err, c.want)
		}
	}
	for _, bad := range []string{"-oProxyCommand=x", "a b/c", "*.", "http://x"} {
		if _, err := gitsync.ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) accepted", bad)
		}
	}
}

// TestSyncPolicyAtConnect: what only the connection tells is checked there,
// before anything is sent: a name that resolves to loopback, a redirect to
// a host that is not allowed, and a source saved under a laxer policy.
// Refusals read like every other failed fetch.
func TestSyncPolicyAtConnect(t *testing.T) {
	port, accepted := countingListener(t, "127.0.0.1:0")

	// localhost is a DNS name for loopback: refused at the connection, and
	// nothing connects.
	e := policyEnv(t, false, "")
	e.source(gitsync.Source{ID: "localhost", URL: "https://localhost:" + port + "/x.git"})
	key, host := sshKey(t, "")
	if _, _, err := e.sy.PutSource(e.ctx, tenant, gitsync.SourceInput{Source: gitsync.Source{ID: "ssh-localhost",
		URL: "ssh://git@localhost:" + port + "/x.git", Prefix: "ssh-", KnownHosts: host}, Credentials: &gitsync.Credentials{SSHKey: key}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"localhost", "ssh-localhost"} {
		_, err := e.sy.Sync(e.ctx, tenant, id)
		if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), "cannot be read") {
			t.Errorf("%s: %v", id, err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections to a loopback port through the name localhost", n)
	}
	// Listed by name, it is allowed: the connection is made.
	e = policyEnv(t, false, "localhost")
	e.source(gitsync.Source{ID: "localhost", URL: "https://localhost:" + port + "/x.git"})
	_, _ = e.sy.Sync(e.ctx, tenant, "localhost")
	if n := accepted.Load(); n == 0 {
		t.Errorf("with localhost listed, no connection was made")
	}
	accepted.Store(0)

	// A listed host redirecting to a loopback address that is not listed.
	target, hits := countingListener(t, "127.0.0.2:0")
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+target+r.URL.Path+"?"+r.URL.RawQuery, http.StatusFound)
	}))
	defer redirector.Close()
	e = policyEnv(t, false, "127.0.0.1")
	e.source(gitsync.Source{ID: "redirect", URL: redirector.URL + "/x.git"})
	_, err := e.sy.Sync(e.ctx, tenant, "redirect")
	if runbooker.ErrorCode(err) != runbooker.EINVALID || hits.Load() != 0 {
		t.Errorf("redirect to 127.0.0.2: %v, %d connections there", err, hits.Load())
	}

	// A local source saved while the server allowed it is refused once it
	// does not.
	up := gittest.New(t)
	up.Write("main", "org/general/a.sh", shDisk)
	up.Commit("main", "a")
	e = newEnv(t)
	e.source(gitsync.Source{ID: "local", URL: up.Dir})
	e.sy = gitsync.New(e.store, e.keys, gitsync.Config{Dir: filepath.Join(e.dir, "git")}, quiet)
	if _, err := e.sy.Sync(e.ctx, tenant, "local"); runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(err.Error(), "--sync-allow-local") {
		t.Errorf("local source on a server that no longer allows it: %v", err)
	}
}
