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

// expectFailure syncs a source that must fail with code and a message
// containing want.
func (e *env) expectFailure(id, code, want string) {
	e.t.Helper()
	_, err := e.sy.Sync(e.ctx, tenant, id)
	if runbooker.ErrorCode(err) != code || !strings.Contains(runbooker.ErrorMessage(err), want) {
		e.t.Errorf("%s: %v; want %s containing %q", id, err, code, want)
	} else {
		e.t.Logf("%s: %s", id, runbooker.ErrorMessage(err))
	}
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
	e.expectFailure("wrong-key", runbooker.EINVALID, "credentials were rejected")

	_, stranger := gittest.SSHKey(t, "")
	in.ID, in.Prefix, in.KnownHosts = "wrong-host", "wrong-host-", gittest.KnownHostsLine(srv.Addr, stranger)
	in.Credentials = &gitsync.Credentials{SSHKey: key, Passphrase: "s3cret"}
	if _, err := e.sy.CreateSource(e.ctx, tenant, in); err != nil {
		t.Fatal(err)
	}
	e.expectFailure("wrong-host", runbooker.EINVALID, "host key is not trusted")
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
	e.expectFailure("bad-token", runbooker.EINVALID, "credentials were rejected")
	put("anonymous", nil, ca)
	e.expectFailure("anonymous", runbooker.EINVALID, "requires credentials")
	put("no-ca", &gitsync.Credentials{Username: "bot", Token: "tok-123"}, "")
	e.expectFailure("no-ca", runbooker.EINVALID, "certificate is not trusted")
}
