package gitsync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/net/proxy"
)

// Every connection a sync opens goes through a guard, which resolves the
// host, checks every address against the server's Hosts (checkAddrs) and
// then connects to the checked addresses only. Checking at the connection,
// not at the URL, is what a DNS name pointing at 127.0.0.1, a name whose
// answer changes between check and connect, or an HTTP redirect cannot get
// past.
//
// go-git picks its transport from a process-wide table and offers no
// per-call dialer, so the hooks are installed once (installTransports) and
// find the guard of the sync at hand:
//   - https: a client whose transport dials through the guard carried by
//     the request's context (go-git passes the fetch's context to every
//     request). A request without a guard is refused, so nothing reaches
//     the network unchecked.
//   - ssh: go-git dials through the proxy a fetch names; every sync names
//     a proxy of the scheme guardScheme, whose dialer is the sync's guard.

// guard connects on behalf of one syncer.
type guard struct {
	hosts  Hosts
	dialer net.Dialer
}

type guardKey struct{}

// withGuard makes ctx carry g for the https transport.
func withGuard(ctx context.Context, g *guard) context.Context {
	return context.WithValue(ctx, guardKey{}, g)
}

// errRefused wraps a connection the guard refused.
var errRefused = errors.New("connection refused by the sync host policy")

// DialContext resolves addr's host, checks every address and connects to
// them in order.
func (g *guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return nil, fmt.Errorf("%w: address %s has a zone", errRefused, host)
		}
		addrs = []netip.Addr{a}
	} else {
		if !hostName.MatchString(host) {
			return nil, fmt.Errorf("%w: %q is not a host name", errRefused, host)
		}
		if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
	}
	if err := g.hosts.checkAddrs(host, addrs); err != nil {
		return nil, fmt.Errorf("%w: %v", errRefused, err)
	}
	var first error
	for _, a := range addrs {
		c, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// Dial is DialContext without a deadline but the dialer's own.
func (g *guard) Dial(network, addr string) (net.Conn, error) {
	return g.DialContext(context.Background(), network, addr)
}

// guardScheme is the proxy scheme an ssh fetch names to dial through its
// guard; the URL's host is the key in sshGuards.
const guardScheme = "runbooker-sync-guard"

var (
	installOnce sync.Once
	sshGuards   sync.Map // key → *guard, while a fetch runs
)

// installTransports puts the guarded https transport and the ssh proxy
// scheme in place, once per process.
func installTransports() {
	installOnce.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			g, ok := ctx.Value(guardKey{}).(*guard)
			if !ok {
				return nil, fmt.Errorf("%w: a git connection without a sync guard", errRefused)
			}
			return g.DialContext(ctx, network, addr)
		}
		// A proxy from the environment is dialled through the guard like
		// any host; the host behind it is checked here, as far as its name
		// and addresses go (the proxy resolves it again).
		tr.Proxy = func(req *http.Request) (*url.URL, error) {
			u, err := http.ProxyFromEnvironment(req)
			if u == nil || err != nil {
				return u, err
			}
			g, ok := req.Context().Value(guardKey{}).(*guard)
			if !ok {
				return nil, fmt.Errorf("%w: a git connection without a sync guard", errRefused)
			}
			host := req.URL.Hostname()
			addrs, err := net.DefaultResolver.LookupNetIP(req.Context(), "ip", host)
			if err != nil {
				return nil, err
			}
			if err := g.hosts.checkAddrs(host, addrs); err != nil {
				return nil, fmt.Errorf("%w: %v", errRefused, err)
			}
			return u, nil
		}
		hc := githttp.NewClient(&http.Client{Transport: tr, Timeout: 0})
		client.InstallProtocol("https", hc)
		client.InstallProtocol("http", hc)
		proxy.RegisterDialerType(guardScheme, func(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
			g, ok := sshGuards.Load(u.Host)
			if !ok {
				return nil, fmt.Errorf("%w: no sync guard %q", errRefused, u.Host)
			}
			return g.(*guard), nil
		})
	})
}

// sshProxy registers g for one ssh fetch and returns the proxy options
// that make go-git dial through it, and the function that unregisters it.
func sshProxy(g *guard) (transport.ProxyOptions, func()) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	key := hex.EncodeToString(b)
	sshGuards.Store(key, g)
	return transport.ProxyOptions{URL: guardScheme + "://" + key}, func() { sshGuards.Delete(key) }
}

// newGuard returns the guard of a syncer with cfg.
func newGuard(cfg Config) *guard {
	return &guard{hosts: cfg.AllowedHosts, dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
}
