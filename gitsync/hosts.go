package gitsync

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Hosts is the server's list of hosts sync sources may name
// (`serve --sync-allowed-hosts`). The zero value allows every host, except
// that loopback, link-local and unspecified addresses are always refused
// unless listed: a tenant must not reach the server's own services, nor a
// cloud metadata endpoint, through a sync.
type Hosts struct {
	names    map[string]bool // exact host names, lower-case, without a trailing dot
	suffixes []string        // ".example.com" for "*.example.com"
	nets     []netip.Prefix  // addresses and CIDR ranges
}

// hostName is what a host name in a URL or in the list may look like: no
// leading '-' (never an option to anything) and nothing but DNS characters.
var hostName = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$`)

// ParseHosts reads a comma- or blank-separated list of host names
// (`git.example.com`), wildcards (`*.example.com`: its subdomains), IP
// addresses and CIDR ranges. An empty list allows every host.
func ParseHosts(list string) (Hosts, error) {
	var h Hosts
	for _, e := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if p, err := netip.ParsePrefix(e); err == nil {
			h.nets = append(h.nets, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil && a.Zone() == "" {
			a = a.Unmap()
			h.nets = append(h.nets, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(e, "."))
		if rest, ok := strings.CutPrefix(name, "*."); ok && hostName.MatchString(rest) {
			h.suffixes = append(h.suffixes, "."+rest)
			continue
		}
		if !hostName.MatchString(name) {
			return Hosts{}, fmt.Errorf("allowed host %q is not a host name, *.domain, IP address or CIDR range", e)
		}
		if h.names == nil {
			h.names = map[string]bool{}
		}
		h.names[name] = true
	}
	return h, nil
}

// Empty reports whether the list allows every host.
func (h Hosts) Empty() bool { return len(h.names) == 0 && len(h.suffixes) == 0 && len(h.nets) == 0 }

func canonicalHost(host string) string { return strings.ToLower(strings.TrimSuffix(host, ".")) }

// named reports whether the list names host itself (not through a wildcard).
func (h Hosts) named(host string) bool { return h.names[canonicalHost(host)] }

// nameMatches reports whether host is listed by name or wildcard.
func (h Hosts) nameMatches(host string) bool {
	host = canonicalHost(host)
	if h.names[host] {
		return true
	}
	for _, s := range h.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

func (h Hosts) listsAddr(a netip.Addr) bool {
	for _, p := range h.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// special reports what kind of address a is when only a listed one may be
// used: loopback, link-local, unspecified (which reaches this machine), in
// any spelling (IPv4-mapped, IPv4-compatible and NAT64 forms included).
func special(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		embedded := [12]byte(b[:12]) == [12]byte{} || // ::a.b.c.d
			[12]byte(b[:12]) == [12]byte{0x00, 0x64, 0xff, 0x9b} // 64:ff9b::a.b.c.d
		if embedded && !a.IsLoopback() && !a.IsUnspecified() {
			if s := special(netip.AddrFrom4([4]byte(b[12:]))); s != "" {
				return s + " (embedded in " + a.String() + ")"
			}
		}
	}
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "a link-local address"
	case a.IsUnspecified(), a.Is4() && a.As4()[0] == 0:
		return "an unspecified address"
	}
	return ""
}

// checkAddrs decides whether host, resolved to addrs, may be connected to:
// every address must pass. A special address must be listed itself, or
// host named exactly; with a non-empty list, host must match it by name or
// every address lie in a listed range.
func (h Hosts) checkAddrs(host string, addrs []netip.Addr) error {
	if len(addrs) == 0 {
		return fmt.Errorf("host %q has no address", host)
	}
	inNets := true
	for _, a := range addrs {
		a = a.Unmap()
		listed := h.listsAddr(a)
		if s := special(a); s != "" && !listed && !h.named(host) {
			return fmt.Errorf("host %q resolves to %s, %s, which is refused unless --sync-allowed-hosts lists it", host, a, s)
		}
		inNets = inNets && listed
	}
	if !h.Empty() && !h.nameMatches(host) && !inNets {
		return fmt.Errorf("host %q (%v) is not in --sync-allowed-hosts", host, addrs)
	}
	return nil
}

// checkSaved is what can be decided from the URL alone when a source is
// saved: a literal address must pass checkAddrs; a host name must match the
// list when the list holds no ranges (otherwise the connection decides).
func (h Hosts) checkSaved(host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		return h.checkAddrs(host, []netip.Addr{a})
	}
	if !h.Empty() && len(h.nets) == 0 && !h.nameMatches(host) {
		return fmt.Errorf("host %q is not in the server's list of allowed hosts (--sync-allowed-hosts)", host)
	}
	return nil
}

// endpoint parses the source URL as go-git will and checks that go-git
// picks the transport the source's kind promises, and that a remote host is
// a plain host name or address: no option-like `-oProxyCommand` host, no
// `ext::` or local path in disguise.
func (s *Source) endpoint() (*transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(s.URL)
	if err != nil {
		return nil, invalidSource(s.ID, "url %q does not parse as a git URL", s.URL)
	}
	want := map[string][]string{KindHTTPS: {"http", "https"}, KindSSH: {"ssh"}, KindLocal: {"file"}}[s.Kind()]
	ok := false
	for _, p := range want {
		ok = ok || ep.Protocol == p
	}
	if !ok {
		return nil, invalidSource(s.ID, "url %q is read as a %q URL, not %s", s.URL, ep.Protocol, s.Kind())
	}
	if s.Kind() == KindLocal {
		return ep, nil
	}
	if a, err := netip.ParseAddr(endpointHost(ep)); err == nil && a.Zone() == "" {
		return ep, nil
	}
	if !hostName.MatchString(ep.Host) {
		return nil, invalidSource(s.ID, "url %q: host %q is not a host name or IP address", s.URL, ep.Host)
	}
	return ep, nil
}

// endpointHost is the endpoint's host without the brackets of an IPv6
// address.
func endpointHost(ep *transport.Endpoint) string {
	return strings.TrimSuffix(strings.TrimPrefix(ep.Host, "["), "]")
}
