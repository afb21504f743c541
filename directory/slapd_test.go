package directory

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// slapd is an OpenLDAP server of a test's own: a child process on a free
// loopback port with its configuration and database in a temp dir.
type slapd struct {
	t    *testing.T
	bin  string
	conf string
	URL  string
	// TLSURL (ldaps://) and CAFile are set when the server was started
	// with TLS; URL then offers StartTLS as well.
	TLSURL string
	CAFile string
	log    *bytes.Buffer
	cmd    *exec.Cmd
	done   chan struct{}
}

// The suffix, and the service account tests bind as (it may read
// everything but passwords; anonymous clients may only bind).
const (
	slapdBase     = "dc=example,dc=test"
	slapdReaderDN = "cn=reader,ou=service,dc=example,dc=test"
	slapdReaderPW = "reader-secret"
)

// findSlapd returns the paths of slapd and slapadd, skipping the test when
// they are missing, or failing it under CI=true, where they must be.
func findSlapd(t *testing.T) (slapdBin, slapadd string) {
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

// slapdSetup is what a test's server holds.
type slapdSetup struct {
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

// startSlapd loads the setup's LDIF into a new database and starts a
// server on it.
func startSlapd(t *testing.T, setup slapdSetup) *slapd {
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
	s := &slapd{t: t, bin: bin}
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
`, schemaDir, preamble, dir, slapdBase, db, setup.Database)
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
		s.URL = "ldap://127.0.0.1:" + strconv.Itoa(freePort(t))
		if setup.TLS {
			s.TLSURL = "ldaps://127.0.0.1:" + strconv.Itoa(freePort(t))
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

// freePort asks the kernel for a port that is free right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs slapd in the foreground (-d) and waits until it answers a
// bind, or returns why not.
func (s *slapd) Start() error {
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
			err = c.Bind(slapdReaderDN, slapdReaderPW)
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
func (s *slapd) Stop() {
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

// writeTestPKI writes a new CA certificate and a server certificate and
// key for 127.0.0.1 signed by it, all PEM.
func writeTestPKI(t *testing.T, caFile, certFile, keyFile string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, serverKey := newKey(), newKey()
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Runbooker test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	server := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, server, ca, &serverKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path, kind string
		der        []byte
	}{{caFile, "CERTIFICATE", caDER}, {certFile, "CERTIFICATE", serverDER}, {keyFile, "PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.kind, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
