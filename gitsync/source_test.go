package gitsync_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/gitsync"
	"github.com/runbooker/runbooker/gitsync/gittest"
)

// sshKey returns a fresh private key, encrypted when passphrase is set,
// and its public key as a known_hosts line.
func sshKey(t *testing.T, passphrase string) (private, knownHost string) {
	t.Helper()
	priv, pub := gittest.SSHKey(t, passphrase)
	return priv, gittest.KnownHostsLine("git.example.com", pub)
}

func TestSourceValidation(t *testing.T) {
	e := newEnv(t)
	key, host := sshKey(t, "")
	lockedKey, _ := sshKey(t, "s3cret")
	abs := t.TempDir()
	cases := []struct {
		name  string
		in    gitsync.SourceInput
		valid bool
	}{
		{"https token", gitsync.SourceInput{Source: gitsync.Source{ID: "a", URL: "https://github.com/realmjoin/realmjoin-runbooks.git"}, Credentials: &gitsync.Credentials{Token: "t"}}, true},
		{"ssh key", gitsync.SourceInput{Source: gitsync.Source{ID: "b", URL: "git@github.com:x/y.git", Prefix: "b-", KnownHosts: host}, Credentials: &gitsync.Credentials{SSHKey: key}}, true},
		{"ssh url with passphrase", gitsync.SourceInput{Source: gitsync.Source{ID: "c", URL: "ssh://git@host:2222/x.git", Prefix: "c-", Interval: gitsync.Duration(time.Hour)}, Credentials: &gitsync.Credentials{SSHKey: lockedKey, Passphrase: "s3cret"}}, true},
		{"local path", gitsync.SourceInput{Source: gitsync.Source{ID: "d", URL: abs, Prefix: "d-", Subfolder: "a/b", Branch: "release/1.0"}}, true},
		{"bad id", gitsync.SourceInput{Source: gitsync.Source{ID: "Bad Id", URL: abs}}, false},
		{"relative path", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "repos/x"}}, false},
		{"ftp", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "ftp://host/x"}}, false},
		{"password in url", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "https://u:p@host/x.git"}}, false},
		{"bad branch", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: abs, Branch: "a..b"}}, false},
		{"subfolder escapes", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: abs, Subfolder: "../etc"}}, false},
		{"bad prefix", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: abs, Prefix: "Acme_"}}, false},
		{"interval too short", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: abs, Interval: gitsync.Duration(time.Second)}}, false},
		{"ssh without key", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "git@host:x.git"}}, false},
		{"https with ssh key", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "https://host/x.git"}, Credentials: &gitsync.Credentials{SSHKey: key}}, false},
		{"credentials over http", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "http://host/x.git"}, Credentials: &gitsync.Credentials{Password: "p"}}, false},
		{"local with credentials", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: abs}, Credentials: &gitsync.Credentials{Password: "p"}}, false},
		{"knownHosts on https", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "https://host/x.git", KnownHosts: host}}, false},
		{"garbage key", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "git@host:x.git"}, Credentials: &gitsync.Credentials{SSHKey: "-----BEGIN NOTHING-----"}}, false},
		{"wrong passphrase", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "git@host:x.git"}, Credentials: &gitsync.Credentials{SSHKey: lockedKey, Passphrase: "nope"}}, false},
		{"passphrase missing", gitsync.SourceInput{Source: gitsync.Source{ID: "x", URL: "git@host:x.git"}, Credentials: &gitsync.Credentials{SSHKey: lockedKey}}, false},
	}
	for _, c := range cases {
		if !c.valid && c.in.Prefix == "" {
			c.in.Prefix = "x-" // fail for the reason the case names, not a taken prefix
		}
		_, _, err := e.sy.PutSource(e.ctx, tenant, c.in)
		switch {
		case c.valid && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.valid && runbooker.ErrorCode(err) != runbooker.EINVALID:
			t.Errorf("%s: got %v, want EINVALID", c.name, err)
		case !c.valid:
			t.Logf("%s: %s", c.name, runbooker.ErrorMessage(err))
		}
	}
	v, err := e.sy.Source(e.ctx, tenant, "a")
	if err != nil || v.Prefix != "rjgit-" || v.Kind != gitsync.KindHTTPS || !v.HasCredentials {
		t.Errorf("defaults: %+v %v", v, err)
	}
}

// TestSourceCredentialsSealed: secrets are stored sealed, never shown, kept
// across updates unless cleared, and bound to their source.
func TestSourceCredentialsSealed(t *testing.T) {
	e := newEnv(t)
	const token = "ghp_supersecrettoken"
	in := gitsync.SourceInput{Source: gitsync.Source{ID: "rj", URL: "https://127.0.0.1:1/rj.git"},
		Credentials: &gitsync.Credentials{Username: "bot", Token: token}}
	v, err := e.sy.CreateSource(e.ctx, tenant, in)
	if err != nil {
		t.Fatal(err)
	}
	shown, _ := json.Marshal(v)
	raw, err := e.store.Setting(e.ctx, tenant, gitsync.SettingKey)
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string][]byte{"view": shown, "stored document": raw} {
		if strings.Contains(string(b), token) || strings.Contains(string(b), "bot") {
			t.Errorf("%s shows a secret: %s", what, b)
		}
	}
	if !v.HasCredentials || !strings.Contains(string(shown), `"hasCredentials":true`) {
		t.Errorf("view: %s", shown)
	}
	if _, err := e.sy.CreateSource(e.ctx, tenant, in); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("create twice: %v", err)
	}

	// Replacing without credentials keeps them; clearing drops them.
	in.Credentials, in.Branch = nil, "main"
	if v, _, err := e.sy.PutSource(e.ctx, tenant, in); err != nil || !v.HasCredentials || v.Branch != "main" {
		t.Fatalf("update keeping credentials: %+v %v", v, err)
	}

	// Sealed credentials copied to another source do not open there.
	var doc map[string][]map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	stolen := map[string]any{"id": "thief", "url": "https://127.0.0.1:1/x.git", "prefix": "thief-", "secret": doc["sources"][0]["secret"]}
	doc["sources"] = append(doc["sources"], stolen)
	raw, _ = json.Marshal(doc)
	if err := e.store.PutSetting(e.ctx, tenant, gitsync.SettingKey, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sy.Sync(e.ctx, tenant, "thief"); runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(err.Error(), "do not decrypt") {
		t.Errorf("moved secret: %v", err)
	}

	in.ClearCredentials = true
	if v, _, err := e.sy.PutSource(e.ctx, tenant, in); err != nil || v.HasCredentials {
		t.Fatalf("clear credentials: %+v %v", v, err)
	}
}

// TestDeleteSource removes the source, its cache and (unless kept) its runbooks.
func TestDeleteSource(t *testing.T) {
	e := newEnv(t)
	up := gittest.New(t)
	up.Write("main", "org/general/a.sh", shDisk)
	up.Commit("main", "a")
	e.source(gitsync.Source{ID: "one", URL: up.Dir})
	e.source(gitsync.Source{ID: "two", URL: up.Dir, Prefix: "two-"})
	e.sync("one")
	e.sync("two")
	if _, _, err := e.putUpload("org_general_mine"); err != nil {
		t.Fatal(err)
	}
	removed, err := e.sy.DeleteSource(e.ctx, tenant, "one", false)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "removed", removed, []string{"rjgit-org_general_a"})
	if _, err := os.Stat(filepath.Join(e.dir, "git", tenant, "one")); !os.IsNotExist(err) {
		t.Errorf("cache left behind: %v", err)
	}
	if _, err := e.sy.DeleteSource(e.ctx, tenant, "two", true); err != nil {
		t.Fatal(err)
	}
	same(t, "left", e.names(runbooker.RunbookFilter{}), []string{"org_general_mine", "two-org_general_a"})
	if _, err := e.sy.DeleteSource(e.ctx, tenant, "two", true); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("delete twice: %v", err)
	}
	if srcs, err := e.sy.Sources(e.ctx, tenant); err != nil || len(srcs) != 0 {
		t.Errorf("sources left: %+v %v", srcs, err)
	}
}
