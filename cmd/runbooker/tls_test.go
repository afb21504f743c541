package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// writeCert makes a CA and a server certificate for 127.0.0.1 signed by it.
func writeCert(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "runbooker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return
}

func TestTLSWorkerTrustsGivenCAAndDrainsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCert(t, dir)
	s := startServer(t, func(c *ServeConfig) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("server URL %s", s.url)
	}
	tlsCfg, err := tlsConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	if s.client, err = rbhttp.NewClient(s.url, s.cred, tlsCfg); err != nil {
		t.Fatal(err)
	}
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	// Without the CA the worker cannot register.
	bad := startWorker(t, s.url, token, t.TempDir())
	if err := bad.cmd.Wait(); err == nil || !strings.Contains(bad.log.String(), "certificate") {
		t.Errorf("worker without --ca: %v\n%s", err, bad.log.String())
	}
	w := startWorker(t, s.url, token, t.TempDir(), "--ca", caFile, "--drain", "20s")
	w.id(t)
	s.put("org_general_slowish", runbooker.LangBash, "#!/bin/bash\necho begin\nsleep 1.5\necho end\n")
	resp, err := s.client.Start(context.Background(), "org_general_slowish", nil, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the job to run", func() bool {
		j, _ := s.client.Job(context.Background(), resp.JobID)
		return j.Status == runbooker.StatusRunning
	})
	// SIGTERM: the running job finishes within the drain deadline.
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	if err := w.cmd.Wait(); err != nil {
		t.Errorf("worker exit after SIGTERM: %v", err)
	}
	j := s.waitJob(resp.JobID)
	if j.Status != runbooker.StatusCompleted {
		t.Errorf("drained job: %s %s", j.Status, j.Exception)
	}
	if out, _ := s.client.OutputText(context.Background(), resp.JobID); out != "begin\nend\n" {
		t.Errorf("drained output %q", out)
	}
}

func TestWorkerRefusesPlainHTTPToRemoteHosts(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"worker", "--server", "http://10.1.2.3:8080", "--token", "rbg_x", "--state-dir", t.TempDir()}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "plain http") {
		t.Errorf("plain http accepted: %d %s", code, errb.String())
	}
}

func TestRunAsRunsJobsAsTheGroupUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("RunAs needs a worker running as root; this test runs as an ordinary user")
	}
	s := startServer(t)
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "restricted", RunAs: "nobody"})
	startWorker(t, s.url, token, t.TempDir()).id(t)
	s.put("org_general_whoami", runbooker.LangBash, "#!/bin/bash\nid -un\n")
	resp, _ := s.client.Start(context.Background(), "org_general_whoami", nil, "restricted")
	j := s.waitJob(resp.JobID)
	out, _ := s.client.OutputText(context.Background(), resp.JobID)
	if j.Status != runbooker.StatusCompleted || out != "nobody\n" {
		t.Errorf("RunAs job: %s %q %s", j.Status, out, j.Exception)
	}
	token2 := createGroup(t, s, runbooker.WorkerGroup{Name: "ghost", RunAs: "no-such-user-here"})
	startWorker(t, s.url, token2, t.TempDir()).id(t)
	resp, _ = s.client.Start(context.Background(), "org_general_whoami", nil, "ghost")
	if j := s.waitJob(resp.JobID); j.Status != runbooker.StatusFailed || !strings.Contains(j.Exception, "no-such-user-here") {
		t.Errorf("unknown RunAs user: %s %q", j.Status, j.Exception)
	}
}
