package metrics

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Check decides whether a scrape may read the metrics: with a token, only
// a request carrying it as a bearer token (compared in constant time),
// otherwise 401; without one, only a client on a loopback address,
// otherwise 403. It returns 0 when the request may go on.
//
// Behind a reverse proxy on the same machine every client looks like
// loopback: such a server needs a token.
func Check(r *http.Request, token string) int {
	if token != "" {
		auth := r.Header.Get("Authorization")
		scheme, got, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") ||
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			return http.StatusUnauthorized
		}
		return 0
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Unmap().IsLoopback() {
		return http.StatusForbidden
	}
	return 0
}

// Protect serves h only to requests Check lets through.
func Protect(h http.Handler, token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch Check(r, token) {
		case 0:
			h.ServeHTTP(w, r)
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="runbooker metrics"`)
			http.Error(w, "metrics need the bearer token", http.StatusUnauthorized)
		default:
			http.Error(w, "metrics are served to loopback clients only (or configure a token)", http.StatusForbidden)
		}
	})
}
