package postgres

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// PlainOnLoopback returns the database URL Open connects with: when every
// host it names is on this machine (a loopback address, localhost or a
// Unix socket) and neither the URL nor PGSSLMODE chooses an sslmode, it
// adds sslmode=disable. libpq's default ("prefer") would wrap each
// connection to the machine itself in TLS, which costs a handshake per
// connection and an encryption on both sides of every statement while
// protecting nothing: loopback traffic never leaves the host, and "prefer"
// does not check who answers anyway. Any URL that names an sslmode, or a
// remote host, is returned as it is. A URL that does not parse is also
// returned as it is, for Open to report.
func PlainOnLoopback(dsn string) string {
	if os.Getenv("PGSSLMODE") != "" || namesSSLMode(dsn) || !OnThisMachine(dsn) {
		return dsn
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn
		}
		q := u.Query()
		q.Set("sslmode", "disable")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " sslmode=disable"
}

var sslModeKey = regexp.MustCompile(`(^|[\s?&])sslmode\s*=`)

// namesSSLMode reports whether a URL or key=value string sets sslmode.
func namesSSLMode(dsn string) bool { return sslModeKey.MatchString(dsn) }

// OnThisMachine reports whether dsn reaches its server (and every
// fallback) only on this machine: a loopback address or a Unix socket.
func OnThisMachine(dsn string) bool {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil || !onLoopback(cfg.Host) {
		return false
	}
	for _, fb := range cfg.Fallbacks {
		if !onLoopback(fb.Host) {
			return false
		}
	}
	return true
}

// onLoopback reports whether host is this machine.
func onLoopback(host string) bool {
	if strings.HasPrefix(host, "/") || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
