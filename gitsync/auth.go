package gitsync

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// defaultUser is the user name sent with a token alone (hosting services
// ignore it for tokens) and the ssh user when the URL names none.
const defaultUser = "git"

// auth returns the transport authentication for src, nil for none.
func auth(src *Source, c *Credentials) (transport.AuthMethod, error) {
	if c.empty() {
		if src.Kind() == KindSSH {
			return nil, invalidSource(src.ID, "ssh URLs need credentials.sshKey")
		}
		return nil, nil
	}
	switch src.Kind() {
	case KindHTTPS:
		user, pass := c.Username, c.Password
		if pass == "" {
			pass = c.Token
		}
		if user == "" {
			user = defaultUser
		}
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	case KindSSH:
		signer, err := sshSigner(c)
		if err != nil {
			return nil, invalidSource(src.ID, "%v", err)
		}
		user := defaultUser
		if ep, err := transport.NewEndpoint(src.URL); err == nil && ep.User != "" {
			user = ep.User
		}
		pk := &gitssh.PublicKeys{User: user, Signer: signer}
		if src.KnownHosts != "" {
			keys, err := parseKnownHosts(src.KnownHosts)
			if err != nil {
				return nil, invalidSource(src.ID, "knownHosts: %v", err)
			}
			pk.HostKeyCallback = pinnedHostKeys(keys)
		}
		return pk, nil
	}
	return nil, invalidSource(src.ID, "a local repository takes no credentials")
}

// sshSigner parses the private key, with its passphrase when it has one.
func sshSigner(c *Credentials) (ssh.Signer, error) {
	key := []byte(strings.TrimSpace(c.SSHKey) + "\n")
	if c.Passphrase != "" {
		s, err := ssh.ParsePrivateKeyWithPassphrase(key, []byte(c.Passphrase))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("the sshKey passphrase is wrong")
		} else if err != nil {
			return nil, fmt.Errorf("sshKey does not parse: %v", err)
		}
		return s, nil
	}
	s, err := ssh.ParsePrivateKey(key)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("sshKey is protected by a passphrase; give credentials.passphrase")
	} else if err != nil {
		return nil, fmt.Errorf("sshKey does not parse: %v", err)
	}
	return s, nil
}

// parseKnownHosts reads known_hosts lines (as ssh-keyscan prints them) and
// returns their keys.
func parseKnownHosts(text string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	rest := []byte(text)
	for len(bytes.TrimSpace(rest)) > 0 {
		_, _, key, _, r, err := ssh.ParseKnownHosts(rest)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("want lines like `host ssh-ed25519 AAAA…` (ssh-keyscan output): %v", err)
		}
		keys = append(keys, key)
		rest = r
	}
	return keys, nil
}

// pinnedHostKeys accepts a server only when it presents one of keys. The
// source has a single URL, so pinning by key is what matters; host patterns
// in the lines are not consulted.
func pinnedHostKeys(keys []ssh.PublicKey) ssh.HostKeyCallback {
	return func(host string, _ net.Addr, key ssh.PublicKey) error {
		for _, k := range keys {
			if bytes.Equal(k.Marshal(), key.Marshal()) {
				return nil
			}
		}
		return fmt.Errorf("host key %s %s of %s is not in the source's knownHosts", key.Type(), ssh.FingerprintSHA256(key), host)
	}
}
