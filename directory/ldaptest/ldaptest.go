// Package ldaptest runs OpenLDAP's slapd for tests: a server of a test's
// own, on a free loopback port, with its configuration and database in the
// test's temp dir, loaded from LDIF the test gives, optionally with TLS
// from a CA of the test's own.
//
// Where slapd and slapadd are not installed a test is skipped with a
// message saying so, except under CI=true, where it fails: CI must never
// pass by skipping the LDAP provider.
//
// It is an ordinary package, not a _test file, so that the directory
// package's tests and the server's end-to-end tests share it. It imports
// nothing of Runbooker's (package directory's tests import it). It is not
// fit for production.
package ldaptest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Server is an OpenLDAP server of a test's own: a child process on a free
// loopback port with its configuration and database in a temp dir.
type Server struct {
	bin  string
	conf string
	// URL is ldap://127.0.0.1:PORT.
	URL string
	// TLSURL (ldaps://) and CAFile are set when the server was started
	// with TLS; URL then offers StartTLS as well.
	TLSURL string
	CAFile string
	log    *bytes.Buffer
	cmd    *exec.Cmd
	done   chan struct{}
}

// The suffix, and the service account tests bind as (it may read
// everything but passwords; anonymous clients may only bind). Root
// creates the account.
const (
	Base           = "dc=example,dc=test"
	ReaderDN       = "cn=reader,ou=service," + Base
	ReaderPassword = "reader-secret"
)

// Root is the LDIF every tree starts with: the suffix's entry and the
// service account (ReaderDN), which Start binds as to see that the server
// is up.
const Root = `dn: ` + Base + `
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=service,` + Base + `
objectClass: organizationalUnit
ou: service

dn: ` + ReaderDN + `
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: ` + ReaderPassword + `
`

// findSlapd returns the paths of slapd and slapadd, skipping the test when
// they are missing, or failing it under CI=true, where they must be.
func findSlapd(t testing.TB) (slapdBin, slapadd string) {
	t.Helper()
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := "/usr/sbin/" + name; fileExists(p) {
			return p
		}
		return ""
	}
	slapdBin, slapadd = find("slapd"), find("slapadd")
	if slapdBin == "" || slapadd == "" {
		msg := "OpenLDAP's slapd and slapadd are not installed (Debian: apt-get install slapd ldap-utils); the LDAP provider is not tested"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return slapdBin, slapadd
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Setup is what a test's server holds.
type Setup struct {
	// LDIF is the tree, starting with Root.
	LDIF string
	// Schema, if not empty, is a schema file's text added to the
	// standard ones.
	Schema string
	// TLS makes the server listen on ldaps:// too, with a certificate
	// for 127.0.0.1 from a CA of the test's own.
	TLS bool
	// Database holds more lines for the database section (limits).
	Database string
}

// Start loads the setup's LDIF into a new database and starts a server
// on it, which is stopped when the test ends. It skips the test (fails it
// under CI=true) when slapd is not installed.
func Start(t testing.TB, setup Setup) *Server {
	t.Helper()
	bin, slapadd := findSlapd(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	// Debian builds the backends as modules; other builds link them in.
	// preamble holds the lines that load them and any extra schema.
	preamble := ""
	for _, d := range []string{"/usr/lib/ldap", "/usr/lib/openldap", "/usr/lib64/openldap", "/usr/libexec/openldap"} {
		if fileExists(filepath.Join(d, "back_mdb.so")) || fileExists(filepath.Join(d, "back_mdb.la")) {
			preamble = "modulepath " + d + "\nmoduleload back_mdb\n"
			break
		}
	}
	schemaDir := "/etc/ldap/schema"
	if !fileExists(filepath.Join(schemaDir, "core.schema")) {
		schemaDir = "/etc/openldap/schema"
	}
	if setup.Schema != "" {
		extra := filepath.Join(dir, "extra.schema")
		if err := os.WriteFile(extra, []byte(setup.Schema), 0o600); err != nil {
			t.Fatal(err)
		}
		preamble += "include " + extra + "\n"
	}
	s := &Server{bin: bin}
	if setup.TLS {
		s.CAFile = filepath.Join(dir, "ca.pem")
		cert, key := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
		writeTestPKI(t, s.CAFile, cert, key)
		preamble += fmt.Sprintf("TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n", s.CAFile, cert, key)
	}
	conf := filepath.Join(dir, "slapd.conf")
	config := fmt.Sprintf(`include %[1]s/core.schema
include %[1]s/cosine.schema
include %[1]s/inetorgperson.schema
include %[1]s/nis.schema
%[2]s
pidfile %[3]s/slapd.pid
database mdb
maxsize 16777216
suffix "%[4]s"
rootdn "cn=admin,%[4]s"
rootpw admin-secret
directory %[5]s
index objectClass eq
index member eq
index uid eq,sub
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by users read
  by * none
%[6]s
`, schemaDir, preamble, dir, Base, db, setup.Database)
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree.ldif")
	if err := os.WriteFile(tree, []byte(setup.LDIF), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-f", conf, "-l", tree).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	s.conf = conf
	// A free port can be taken by someone else between finding it and
	// slapd binding it; try a few.
	for attempt := 0; ; attempt++ {
		s.URL = "ldap://127.0.0.1:" + strconv.Itoa(FreePort(t))
		if setup.TLS {
			s.TLSURL = "ldaps://127.0.0.1:" + strconv.Itoa(FreePort(t))
		}
		err := s.Start()
		if err == nil {
			break
		}
		if attempt == 4 {
			t.Fatalf("slapd does not start: %v\n%s", err, s.log)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

// FreePort asks the kernel for a port that is free right now (tests use
// it for an address nobody listens on, too).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs slapd (again, after Stop, on the same ports and database) in
// the foreground (-d) and waits until it answers a bind, or returns why
// not.
func (s *Server) Start() error {
	s.log = &bytes.Buffer{}
	listen := s.URL + "/"
	if s.TLSURL != "" {
		listen += " " + s.TLSURL + "/"
	}
	s.cmd = exec.Command(s.bin, "-f", s.conf, "-h", listen, "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.done:
			return errors.New("slapd exited: " + s.cmd.ProcessState.String())
		default:
		}
		if c, err := ldap.DialURL(s.URL); err == nil {
			err = c.Bind(ReaderDN, ReaderPassword)
			c.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return errors.New("slapd did not answer within 20 seconds")
		}
		time.Sleep(20 * time.Millisecond) // polling interval, bounded by the deadline above
	}
}

// Stop ends slapd and waits for it; it does nothing when slapd is not
// running.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}
