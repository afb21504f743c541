package entra

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/runbooker/runbooker"
	"golang.org/x/crypto/pkcs12"
)

// Credential is how the application proves itself: a client secret, or a
// certificate's private key (a signed client assertion).
type Credential struct {
	Secret string
	Cert   *x509.Certificate
	Key    *rsa.PrivateKey
}

// fingerprint tells credentials apart in the token cache without keeping
// the secret there.
func (c Credential) fingerprint() string {
	if c.Cert != nil {
		sum := sha256.Sum256(c.Cert.Raw)
		return "cert:" + hex.EncodeToString(sum[:])
	}
	sum := sha256.Sum256([]byte(c.Secret))
	return "secret:" + hex.EncodeToString(sum[:])
}

// SecretCredential reads a credential asset's document: its password is
// the client secret.
func SecretCredential(asset string, doc json.RawMessage) (Credential, error) {
	var v struct {
		Password string `json:"password"`
	}
	if json.Unmarshal(doc, &v) != nil || v.Password == "" {
		return Credential{}, runbooker.Errorf(runbooker.EINVALID, "identity: credential asset %q has no password (the client secret)", asset)
	}
	return Credential{Secret: v.Password}, nil
}

// CertificateCredential reads a certificate asset's document ({"pem"} with
// the certificate and an unencrypted private key, or {"pfx", "password"}):
// the first certificate whose public key matches an RSA private key in it.
func CertificateCredential(asset string, doc json.RawMessage) (Credential, error) {
	bad := func(format string, args ...any) (Credential, error) {
		return Credential{}, runbooker.Errorf(runbooker.EINVALID, "identity: certificate asset %q: "+format, append([]any{asset}, args...)...)
	}
	var v struct {
		PEM      string `json:"pem"`
		PFX      string `json:"pfx"`
		Password string `json:"password"`
	}
	if json.Unmarshal(doc, &v) != nil {
		return bad("not a certificate document")
	}
	var blocks []*pem.Block
	switch {
	case v.PFX != "":
		der, err := base64.StdEncoding.DecodeString(v.PFX)
		if err != nil {
			return bad("pfx is not Base64")
		}
		blocks, err = pkcs12.ToPEM(der, v.Password)
		if err != nil {
			return bad("the PFX cannot be read with its password: %v", err)
		}
	case v.PEM != "":
		rest := []byte(v.PEM)
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			blocks = append(blocks, b)
		}
	default:
		return bad("neither pem nor pfx")
	}
	var certs []*x509.Certificate
	var key *rsa.PrivateKey
	for _, b := range blocks {
		switch b.Type {
		case "CERTIFICATE":
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				certs = append(certs, c)
			}
		case "RSA PRIVATE KEY", "PRIVATE KEY":
			if key != nil {
				continue
			}
			if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
				key = k
			} else if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
				if rk, ok := k.(*rsa.PrivateKey); ok {
					key = rk
				} else {
					return bad("Entra ID signs client assertions with RSA keys only; this key is %T", k)
				}
			}
		case "ENCRYPTED PRIVATE KEY":
			return bad("an encrypted PEM key cannot be read: store the certificate as PFX with its password")
		}
	}
	if key == nil {
		return bad("no RSA private key in it: the identity needs the certificate with its key")
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&key.PublicKey) {
			return Credential{Cert: c, Key: key}, nil
		}
	}
	return bad("no certificate in it matches its private key")
}

// AssertionType is the client_assertion_type of a signed JWT.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertion signs the client assertion Microsoft's certificate flow asks
// for: RS256, x5t the Base64url SHA-1 thumbprint of the certificate, aud
// the token endpoint, iss and sub the client id, valid ten minutes.
func (c Credential) assertion(clientID, tokenURL string, now time.Time) (string, error) {
	thumb := sha1.Sum(c.Cert.Raw)
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT",
		"x5t": base64.RawURLEncoding.EncodeToString(thumb[:])})
	claims, _ := json.Marshal(map[string]any{"aud": tokenURL, "iss": clientID, "sub": clientID,
		"jti": runbooker.NewID(), "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.Key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
