package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestPlainOnLoopback(t *testing.T) {
	t.Setenv("PGSSLMODE", "")
	for _, c := range []struct{ in, want string }{
		{"postgres://u@127.0.0.1:5432/db", "postgres://u@127.0.0.1:5432/db?sslmode=disable"},
		{"postgresql://u@localhost/db?application_name=x", "postgresql://u@localhost/db?application_name=x&sslmode=disable"},
		{"postgres://u@[::1]:5432/db", "postgres://u@[::1]:5432/db?sslmode=disable"},
		{"host=127.0.0.1 user=u dbname=db", "host=127.0.0.1 user=u dbname=db sslmode=disable"},
		{"host=/var/run/postgresql user=u", "host=/var/run/postgresql user=u sslmode=disable"},
		// An sslmode of the caller's stays, whatever it is.
		{"postgres://u@127.0.0.1/db?sslmode=require", "postgres://u@127.0.0.1/db?sslmode=require"},
		{"host=127.0.0.1 sslmode=verify-full", "host=127.0.0.1 sslmode=verify-full"},
		// Another machine keeps libpq's default.
		{"postgres://u@db.example.com/db", "postgres://u@db.example.com/db"},
		{"postgres://u@10.0.0.5/db", "postgres://u@10.0.0.5/db"},
		// Several hosts: plain only when all are this machine.
		{"postgres://u@127.0.0.1:5432,db.example.com:5432/db", "postgres://u@127.0.0.1:5432,db.example.com:5432/db"},
		// What does not parse is left for Open to report.
		{"postgres://u@127.0.0.1:notaport/db", "postgres://u@127.0.0.1:notaport/db"},
	} {
		if got := PlainOnLoopback(c.in); got != c.want {
			t.Errorf("PlainOnLoopback(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestOnThisMachine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"postgres://u@127.0.0.1:5432/db", true},
		{"postgres://u@[::1]/db", true},
		{"host=localhost user=u", true},
		{"host=/var/run/postgresql user=u", true},
		{"postgres://u@127.0.0.1:5432,[::1]:5433/db", true},
		{"postgres://u@db.example.com/db", false},
		{"postgres://u@127.0.0.1:5432,10.0.0.5:5432/db", false},
		{"postgres://u@127.0.0.1:notaport/db", false},
	} {
		if got := OnThisMachine(c.in); got != c.want {
			t.Errorf("OnThisMachine(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestPGSSLModeIsLeftAlone(t *testing.T) {
	t.Setenv("PGSSLMODE", "require")
	if got := PlainOnLoopback("postgres://u@127.0.0.1/db"); got != "postgres://u@127.0.0.1/db" {
		t.Errorf("PGSSLMODE set, yet the URL became %q", got)
	}
}

// What pgx makes of the URLs: no TLS attempt to this machine, libpq's
// default TLS attempt elsewhere.
func TestOpenSkipsTLSOnlyOnLoopback(t *testing.T) {
	t.Setenv("PGSSLMODE", "")
	cfg, err := pgconn.ParseConfig(PlainOnLoopback("postgres://u@127.0.0.1:5432/db"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSConfig != nil {
		t.Error("a loopback connection is set up for TLS")
	}
	for _, fb := range cfg.Fallbacks {
		if fb.TLSConfig != nil {
			t.Error("a loopback fallback is set up for TLS")
		}
	}
	cfg, err = pgconn.ParseConfig(PlainOnLoopback("postgres://u@db.example.com:5432/db"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSConfig == nil {
		t.Error("a remote connection lost libpq's default TLS attempt")
	}
}
