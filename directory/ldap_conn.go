package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/runbooker/runbooker"
)

// Limits of one LDAP exchange. A server that takes longer is treated as
// unavailable rather than holding a request of the caller forever.
const (
	ldapDialTimeout = 10 * time.Second
	ldapOpTimeout   = 30 * time.Second
	ldapIdleConns   = 4
)

// ldapPool hands out connections bound as the service account and keeps a
// few idle ones. A connection that saw a network error is closed instead
// of returned, so the next call dials afresh: that is the reconnect.
type ldapPool struct {
	url       string
	startTLS  bool
	tlsConfig *tls.Config
	bindDN    string
	password  string
	control   func(network, address string, c syscall.RawConn) error // Config.Control

	mu     sync.Mutex
	idle   []*ldap.Conn
	closed bool
}

// tlsConfigFor builds the TLS settings of cfg, reading caFile if given.
func tlsConfigFor(cfg Config) (*tls.Config, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, "directory: LDAP URL %q cannot be parsed", cfg.URL)
	}
	tc := &tls.Config{
		ServerName:         u.Hostname(),
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // an explicit, documented choice of the administrator
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EINVALID, "directory: caFile %s cannot be read", cfg.CAFile), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, runbooker.Errorf(runbooker.EINVALID, "directory: caFile %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// unavailable is the EUNAVAILABLE of a server that cannot be reached or
// does not answer; cause stays in the chain for the log.
func (p *ldapPool) unavailable(cause error) error {
	return fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EUNAVAILABLE, "directory: the LDAP server %s cannot be reached", p.url), cause)
}

// dial opens a connection (with StartTLS when configured) without binding.
func (p *ldapPool) dial() (*ldap.Conn, error) {
	c, err := ldap.DialURL(p.url,
		ldap.DialWithDialer(&net.Dialer{Timeout: ldapDialTimeout, Control: p.control}),
		ldap.DialWithTLSConfig(p.tlsConfig))
	if err != nil {
		if badCertificate(err) {
			return nil, p.untrusted(err)
		}
		return nil, p.unavailable(err)
	}
	c.SetTimeout(ldapOpTimeout)
	if p.startTLS {
		if err := c.StartTLS(p.tlsConfig); err != nil {
			c.Close()
			if badCertificate(err) {
				return nil, p.untrusted(err)
			}
			return nil, fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EUNAVAILABLE, "directory: StartTLS with the LDAP server %s failed", p.url), err)
		}
	}
	return c, nil
}

// badCertificate reports whether err is a failed check of the server's
// certificate. go-ldap keeps the TLS error in the chain for ldaps:// but
// only as text for StartTLS.
func badCertificate(err error) bool {
	var v *tls.CertificateVerificationError
	return errors.As(err, &v) || strings.Contains(err.Error(), "failed to verify certificate")
}

// untrusted is the EUNAVAILABLE of a server whose certificate does not
// verify: a configuration problem that an administrator must see as such.
func (p *ldapPool) untrusted(cause error) error {
	return fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EUNAVAILABLE,
		"directory: the certificate of the LDAP server %s cannot be verified; set caFile to the CA that issued it (and use the name the certificate is for)", p.url), cause)
}

// get returns an idle connection or a new one bound as the service
// account. reused says which, so that a failure on a reused connection
// can be retried once on a fresh one.
func (p *ldapPool) get() (c *ldap.Conn, reused bool, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, runbooker.Errorf(runbooker.EUNAVAILABLE, "directory: the LDAP directory is closed")
	}
	for len(p.idle) > 0 {
		c = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !c.IsClosing() {
			p.mu.Unlock()
			return c, true, nil
		}
		c.Close()
	}
	p.mu.Unlock()

	c, err = p.dial()
	if err != nil {
		return nil, false, err
	}
	if p.bindDN == "" {
		return c, false, nil // anonymous: LDAP needs no bind for that
	}
	if err = c.Bind(p.bindDN, p.password); err != nil {
		c.Close()
		if isNetworkError(err) {
			return nil, false, p.unavailable(err)
		}
		return nil, false, fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EUNAVAILABLE, "directory: the LDAP server %s refused the service account %s; check bindDN and its password", p.url, p.bindDN), err)
	}
	return c, false, nil
}

// put returns c to the idle list, or closes it when it failed at the
// network level, is closing, or the list is full.
func (p *ldapPool) put(c *ldap.Conn, err error) {
	if err != nil && (isNetworkError(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		c.Close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || c.IsClosing() || len(p.idle) >= ldapIdleConns {
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
}

// Close closes the idle connections; connections in use close when they
// are returned.
func (p *ldapPool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.idle {
		c.Close()
	}
	p.idle = nil
	return nil
}

// isNetworkError reports whether err means the connection is unusable.
func isNetworkError(err error) bool {
	return ldap.IsErrorWithCode(err, ldap.ErrorNetwork) ||
		ldap.IsErrorWithCode(err, ldap.LDAPResultServerDown) ||
		ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailable) ||
		ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) ||
		ldap.IsErrorWithCode(err, ldap.LDAPResultTimeout) ||
		errors.Is(err, net.ErrClosed)
}

// search runs req on a pooled connection. A broken reused connection (the
// server restarted, an idle timeout closed it) is retried once on a new
// one; a server that does not answer in time is not asked twice. A size
// limit hit returns the entries received; a base that does not exist
// returns none.
func (p *ldapPool) search(ctx context.Context, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, reused, err := p.get()
		if err != nil {
			return nil, err
		}
		entries, err := searchOn(ctx, c, req)
		p.put(c, err)
		switch {
		case err == nil:
			return entries, nil
		case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && req.SizeLimit > 0:
			return entries, nil // the caller asked for no more
		case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
			// Returning what arrived would silently drop groups from a
			// membership, and with them permissions.
			return nil, fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EUNAVAILABLE,
				"directory: the LDAP server %s cut a search short at its size limit even with paged results; allow the service account more entries", p.url), err)
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			return nil, nil
		case ldap.IsErrorWithCode(err, ldap.ErrorNetwork) && reused && attempt == 0:
			// The server or something between dropped a connection that
			// sat idle; a fresh one usually works.
			continue
		case isNetworkError(err):
			return nil, p.unavailable(err)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			return nil, fmt.Errorf("%w: %w", runbooker.Errorf(runbooker.EUNAVAILABLE, "directory: the LDAP server %s refused a search", p.url), err)
		}
	}
}

// ldapPageSize is the page size of searches that want every entry;
// Active Directory answers at most 1000 entries (MaxPageSize) at a time.
const ldapPageSize = 500

// searchOn runs one search on c, giving up when ctx ends or the server
// takes longer than ldapOpTimeout. A search without a size limit is paged,
// so that servers that cap the entries of one answer give them all.
func searchOn(ctx context.Context, c *ldap.Conn, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	if req.SizeLimit == 0 {
		// go-ldap's paging knows no context; the connection's timeout
		// bounds every page instead. It keeps its cookie in the request's
		// controls, so it gets a copy of its own.
		paged := *req
		paged.Controls = nil
		res, err := c.SearchWithPaging(&paged, ldapPageSize)
		if res == nil {
			return nil, err
		}
		return res.Entries, err
	}
	ctx, cancel := context.WithTimeout(ctx, ldapOpTimeout)
	defer cancel()
	res := c.SearchAsync(ctx, req, 64)
	var entries []*ldap.Entry
	for res.Next() {
		if e := res.Entry(); e != nil {
			entries = append(entries, e)
		}
	}
	if err := res.Err(); err != nil {
		return entries, err
	}
	// A search cut short by ctx ends without an error of its own.
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return entries, ldap.NewError(ldap.LDAPResultTimeout, err)
		}
		return entries, err
	}
	return entries, nil
}

// bindAs checks dn's password on a connection of its own, so that the
// pooled connections stay bound as the service account.
func (p *ldapPool) bindAs(dn, password string) error {
	c, err := p.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	err = c.Bind(dn, password)
	if err != nil && isNetworkError(err) {
		return p.unavailable(err)
	}
	return err
}

// escapeDNValue is EscapeFilter for a whole DN placed in a filter.
func escapeDNValue(dn string) string { return ldap.EscapeFilter(dn) }

// lowerDN is the key a DN is remembered by in visited sets.
func lowerDN(dn string) string { return strings.ToLower(dn) }
