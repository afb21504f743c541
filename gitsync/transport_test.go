package gitsync_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/gitsync/gittest"
)

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git-upload-pack"); err != nil {
		if _, err := exec.LookPath("git"); err != nil {
			t.Skip("git is not installed")
		}
	}
}

// expectFailure syncs a source that must fail with the one message every
// failed fetch gives, while the server log says what failed (logged).
func (e *env) expectFailure(id, logged string) {
	e.t.Helper()
	_, err := e.sy.Sync(e.ctx, tenant, id)
	if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), "the repository cannot be read") {
		e.t.Errorf("%s: %v; want the repository cannot be read", id, err)
	}
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "source="+id+" ") && strings.Contains(line, logged) {
			return
		}
	}
	e.t.Errorf("%s: no log line says %q:\n%s", id, logged, e.logs.String())
}

// TestSyncSSH syncs over ssh with a passphrase-protected key and a pinned
// host key; a key the server refuses and a host key nobody pinned fail
// with clear messages.
func TestSyncSSH(t *testing.T) {
	needGit(t)
	if _, err := exec.LookPath("git-upload-pack"); err != nil {
		t.Skip("git-upload-pack is not on PATH")
	}
	e := newEnv(t)
	up := gittest.New(t)
	up.Write("main", "org/general/disk-space-report.sh", shDisk)
	up.Commit("main", "one")
	key, pub := gittest.SSHKey(t, "s3cret")
	srv := gittest.NewSSHServer(t, pub)
	pinned := gittest.KnownHostsLine(srv.Addr, srv.HostKey)

	in := gitsync.SourceInput{Source: gitsync.Source{ID: "ssh", URL: srv.URL(up.Dir), KnownHosts: pinned},
		Credentials: &gitsync.Credentials{SSHKey: key, Passphrase: "s3cret"}}
	if _, err := e.sy.CreateSource(e.ctx, tenant, in); err != nil {
		t.Fatal(err)
	}
	rep := e.sync("ssh")
	same(t, "added", rep.Added, []string{"rjgit-org_general_disk-space-report"})

	other, _ := gittest.SSHKey(t, "")
	in.ID, in.Prefix, in.Credentials = "wrong-key", "wrong-key-", &gitsync.Credentials{SSHKey: other}
	if _, err := e.sy.CreateSource(e.ctx, tenant, in); err != nil {
		t.Fatal(err)
	}
	e.expectFailure("wrong-key", "unable to authenticate")

	_, stranger := gittest.SSHKey(t, "")
	in.ID, in.Prefix, in.KnownHosts = "wrong-host", "wrong-host-", gittest.KnownHostsLine(srv.Addr, stranger)
	in.Credentials = &gitsync.Credentials{SSHKey: key, Passphrase: "s3cret"}
	if _, err := e.sy.CreateSource(e.ctx, tenant, in); err != nil {
		t.Fatal(err)
	}
	e.expectFailure("wrong-host", "is not in the source's knownHosts")
}

// TestSyncHTTPS syncs over https (git http-backend behind basic auth, a
// private CA) with a token; wrong credentials, none, and an untrusted
// certificate fail with clear messages.
func TestSyncHTTPS(t *testing.T) {
	needGit(t)
	e := newEnv(t)
	up := gittest.New(t)
	up.Write("main", "user/mail/add-alias.py", pyReport)
	up.Commit("main", "one")
	srv := gittest.NewHTTPSServer(t, filepath.Dir(up.Dir), "bot", "tok-123")
	url := srv.URL + "/" + filepath.Base(up.Dir)
	ca := gittest.CertificatePEM(srv)

	put := func(id string, creds *gitsync.Credentials, ca string) {
		t.Helper()
		src := gitsync.Source{ID: id, URL: url, Prefix: id + "-", CABundle: ca}
		if _, _, err := e.sy.PutSource(e.ctx, tenant, gitsync.SourceInput{Source: src, Credentials: creds}); err != nil {
			t.Fatal(err)
		}
	}
	put("https", &gitsync.Credentials{Username: "bot", Token: "tok-123"}, ca)
	rep := e.sync("https")
	same(t, "added", rep.Added, []string{"https-user_mail_add-alias"})

	up.Write("main", "user/mail/add-alias.py", pyReport+"\n# changed\n")
	up.Commit("main", "two")
	same(t, "updated", e.sync("https").Updated, []string{"https-user_mail_add-alias"})

	put("bad-token", &gitsync.Credentials{Username: "bot", Token: "nope"}, ca)
	e.expectFailure("bad-token", "authorization failed")
	put("anonymous", nil, ca)
	e.expectFailure("anonymous", "authentication required")
	put("no-ca", &gitsync.Credentials{Username: "bot", Token: "tok-123"}, "")
	e.expectFailure("no-ca", "x509")
}
