// Package gitsync keeps a tenant's runbooks in step with upstream git
// repositories (RealmJoin's runbook repository or a fork of it): it fetches
// a branch into a bare cache under the data directory, reads the branch's
// tree straight from git objects (no work tree), and adds, updates and
// removes the runbooks that belong to the sync source — never any other.
//
// Where things are: a sync source and its checks (source.go), kept per
// tenant with sealed credentials (source_store.go); the Syncer, one sync at
// a time per tenant (syncer.go); the server's host policy (hosts.go) and
// the guard every connection goes through (dial.go); one run of a sync
// (run.go), which fetches (fetch.go, auth.go), reads the tree (tree.go) and
// stores what changed (apply.go, memo.go); the background Service that syncs sources whose
// interval has passed (interval.go); re-sealing under a new key (reseal.go).
package gitsync

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
)

// Transport kinds a source URL can name.
const (
	KindHTTPS = "https" // https:// (or http:// without credentials)
	KindSSH   = "ssh"   // ssh://user@host/path or user@host:path
	KindLocal = "local" // an absolute local path or file:// URL
)

// MinInterval bounds how often a source may be synced on its own, so a typo
// ("1s") cannot hammer an upstream server.
const MinInterval = time.Minute

// Source is an upstream repository a tenant syncs runbooks from. Runbooks
// come from `<Subfolder>/<scope>/<category>/<name>.<ext>` of Branch and are
// named `<Prefix><scope>_<category>_<name>`.
type Source struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	Branch     string   `json:"branch,omitempty"` // empty: the repository's default branch
	Subfolder  string   `json:"subfolder,omitempty"`
	Prefix     string   `json:"prefix"`
	Interval   Duration `json:"interval,omitempty"`   // 0: only synced on request
	KnownHosts string   `json:"knownHosts,omitempty"` // ssh: pinned host keys, known_hosts lines; empty: the server's known_hosts
	CABundle   string   `json:"caBundle,omitempty"`   // https: PEM certificates trusted besides the system's (a private CA)
}

// Credentials authenticate to a source: Username and Password (or Token) for
// https, SSHKey (PEM, optionally protected by Passphrase) for ssh. They are
// stored sealed and never returned.
type Credentials struct {
	Username   string `json:"username,omitempty"`
	Password   string `json:"password,omitempty"`
	Token      string `json:"token,omitempty"` // alias of Password for access tokens
	SSHKey     string `json:"sshKey,omitempty"`
	Passphrase string `json:"passphrase,omitempty"`
}

func (c *Credentials) empty() bool {
	return c == nil || *c == Credentials{}
}

// SourceInput is a source as an administrator creates or replaces it.
// Credentials nil keeps the stored ones; ClearCredentials drops them.
type SourceInput struct {
	Source
	Credentials      *Credentials `json:"credentials,omitempty"`
	ClearCredentials bool         `json:"clearCredentials,omitempty"`
}

// SourceView is a source as the API shows it: no secrets, only whether
// credentials are set, plus the outcome of its last sync in this process.
type SourceView struct {
	Source
	Kind           string  `json:"kind"`
	HasCredentials bool    `json:"hasCredentials"`
	LastSync       *Status `json:"lastSync,omitempty"`
}

// Duration is a time.Duration written as "15m" in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts a Go duration string ("1h30m") or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return fmt.Errorf("interval must be a duration like \"15m\" or a number of seconds")
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("interval %q: %v", s, err)
	}
	*d = Duration(v)
	return nil
}

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	scpLike       = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:`)
	windowsDrive  = regexp.MustCompile(`^[A-Za-z]:[\\/]`)
	invalidSource = func(id, format string, args ...any) error {
		if id == "" {
			return runbooker.Errorf(runbooker.EINVALID, "sync source: "+format, args...)
		}
		return runbooker.Errorf(runbooker.EINVALID, "sync source %q: %s", id, fmt.Sprintf(format, args...))
	}
)

// Kind classifies the source URL: KindHTTPS, KindSSH or KindLocal, or "".
func (s *Source) Kind() string {
	u := s.URL
	switch {
	case strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"):
		return KindHTTPS
	case strings.HasPrefix(u, "ssh://"), scpLike.MatchString(u):
		return KindSSH
	case strings.HasPrefix(u, "file://"), filepath.IsAbs(u), path.IsAbs(u), windowsDrive.MatchString(u):
		return KindLocal
	}
	return ""
}

// normalize fills defaults and checks every field; the error is EINVALID and
// names the source and the field.
func (s *Source) normalize() error {
	s.ID, s.URL = strings.TrimSpace(s.ID), strings.TrimSpace(s.URL)
	if !idPattern.MatchString(s.ID) {
		return invalidSource("", "id %q must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit", s.ID)
	}
	if s.URL == "" {
		return invalidSource(s.ID, "url is required")
	}
	switch s.Kind() {
	case KindHTTPS, KindSSH:
		if !scpLike.MatchString(s.URL) { // scp-like user@host:path is no URL
			u, err := url.Parse(s.URL)
			if err != nil || u.Host == "" {
				return invalidSource(s.ID, "url %q does not parse as a URL with a host", s.URL)
			}
			if _, hasPass := u.User.Password(); hasPass {
				return invalidSource(s.ID, "url must not contain a password; put it in credentials")
			}
		}
	case KindLocal:
		if strings.HasPrefix(s.URL, "file://") {
			u, err := url.Parse(s.URL)
			if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
				return invalidSource(s.ID, "url %q: want file:///absolute/path", s.URL)
			}
		}
	default:
		return invalidSource(s.ID, "url %q must be https://…, ssh://… or user@host:path, file:///… or an absolute local path", s.URL)
	}
	s.Branch = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s.Branch), "refs/heads/"))
	if s.Branch != "" {
		if err := plumbing.NewBranchReferenceName(s.Branch).Validate(); err != nil || strings.HasPrefix(s.Branch, "-") {
			return invalidSource(s.ID, "branch %q is not a valid branch name", s.Branch)
		}
	}
	sub := strings.Trim(strings.ReplaceAll(strings.TrimSpace(s.Subfolder), `\`, "/"), "/")
	if sub == "." {
		sub = "" // ".", "./" and ". " name the repository root, like ""
	}
	if sub != "" {
		if clean := path.Clean(sub); clean != sub || clean == ".." || strings.HasPrefix(clean, "../") {
			return invalidSource(s.ID, "subfolder %q must be a plain relative path inside the repository", s.Subfolder)
		}
	}
	s.Subfolder = sub
	if s.Prefix == "" {
		s.Prefix = catalog.DefaultPrefix
	}
	if n, err := catalog.ParseName(s.Prefix + "org_general_x"); err != nil || n.Prefix != s.Prefix {
		return invalidSource(s.ID, "prefix %q must be words of a-z and 0-9 joined by '-' and end in '-' (like %q)", s.Prefix, catalog.DefaultPrefix)
	}
	if s.Interval < 0 || (s.Interval > 0 && time.Duration(s.Interval) < MinInterval) {
		return invalidSource(s.ID, "interval %s must be 0 (sync on request only) or at least %s", time.Duration(s.Interval), MinInterval)
	}
	if s.KnownHosts != "" && s.Kind() != KindSSH {
		return invalidSource(s.ID, "knownHosts only applies to ssh URLs")
	}
	if _, err := parseKnownHosts(s.KnownHosts); err != nil {
		return invalidSource(s.ID, "knownHosts: %v", err)
	}
	if _, err := s.endpoint(); err != nil {
		return err
	}
	if s.CABundle != "" {
		if s.Kind() != KindHTTPS {
			return invalidSource(s.ID, "caBundle only applies to https URLs")
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(s.CABundle)) {
			return invalidSource(s.ID, "caBundle holds no PEM certificate")
		}
	}
	return nil
}

// allowed checks src against the server's policy: a local repository only
// with Config.AllowLocal, a remote host as far as the URL alone tells
// (Hosts.checkSaved; the connection checks the rest). Its messages come from
// the URL and the server's settings only, never from what exists.
func (s *Syncer) allowed(src *Source) error {
	ep, err := src.endpoint()
	if err != nil {
		return err
	}
	if src.Kind() == KindLocal {
		if !s.cfg.AllowLocal {
			return invalidSource(src.ID, "local paths and file:// URLs are not allowed on this server (serve --sync-allow-local allows them)")
		}
		return nil
	}
	if err := s.cfg.AllowedHosts.checkSaved(endpointHost(ep)); err != nil {
		return invalidSource(src.ID, "%v", err)
	}
	return nil
}

// checkCredentials makes sure the credentials fit the URL kind and that an
// ssh key parses (with its passphrase), so mistakes show up when the source
// is saved, not at the first sync.
func (s *Source) checkCredentials(c *Credentials) error {
	kind := s.Kind()
	if c.empty() {
		if kind == KindSSH {
			return invalidSource(s.ID, "ssh URLs need credentials.sshKey (a private key in PEM/OpenSSH format)")
		}
		return nil
	}
	switch kind {
	case KindLocal:
		return invalidSource(s.ID, "a local repository takes no credentials")
	case KindHTTPS:
		if c.SSHKey != "" || c.Passphrase != "" {
			return invalidSource(s.ID, "sshKey and passphrase need an ssh URL; https takes username and password or token")
		}
		if c.Password == "" && c.Token == "" {
			return invalidSource(s.ID, "https credentials need a password or token")
		}
		if c.Password != "" && c.Token != "" {
			return invalidSource(s.ID, "give either password or token, not both")
		}
		if strings.HasPrefix(s.URL, "http://") {
			return invalidSource(s.ID, "credentials would travel in clear text over http://; use https://")
		}
	case KindSSH:
		if c.Password != "" || c.Token != "" {
			return invalidSource(s.ID, "ssh URLs authenticate with sshKey, not password or token")
		}
		if c.SSHKey == "" {
			return invalidSource(s.ID, "ssh URLs need credentials.sshKey")
		}
		if _, err := sshSigner(c); err != nil {
			return invalidSource(s.ID, "%v", err)
		}
	}
	return nil
}
