package oidcauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// sealVersion is the first byte of every sealed Pending, so the format can
// change without old cookies being misread.
const sealVersion = 1

// sealContext is authenticated with every sealed Pending (GCM additional
// data), so a value sealed for another purpose with the same key does not
// open as a Pending.
var sealContext = []byte("runbooker oidcauth pending sign-in")

// maxSealed bounds the text Open looks at; a genuine sealed Pending is a few
// hundred characters and cookies cannot be much longer than 4 KiB anyway.
const maxSealed = 4096

// clockSkew is how far in the future a Pending's Created may lie, for
// servers behind one load balancer whose clocks disagree slightly.
const clockSkew = time.Minute

// Seal encrypts and authenticates p with key (AES-GCM; 16, 24 or 32 bytes)
// into text fit for a cookie value. Only holders of key can read or forge
// it, so the server can hand the pending sign-in to the browser instead of
// storing it, and any server sharing the key can finish the sign-in.
func Seal(key []byte, p Pending) (string, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("oidc: seal pending sign-in: %w", err)
	}
	out := make([]byte, 1, 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = sealVersion
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, plain, sealContext)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open reverses Seal. It fails when sealed was not made by Seal with key,
// was altered, or holds a Pending created more than maxAge before now (or
// implausibly far after it). Failures other than a bad key or maxAge carry
// EUNAUTHORIZED with a message fit to show the person.
func Open(key []byte, sealed string, maxAge time.Duration, now time.Time) (Pending, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return Pending{}, err
	}
	if maxAge <= 0 {
		return Pending{}, fmt.Errorf("oidc: open pending sign-in: maxAge must be positive, got %v", maxAge)
	}
	if len(sealed) > maxSealed {
		return Pending{}, stale(fmt.Errorf("oidc: sealed pending sign-in is %d characters, more than %d", len(sealed), maxSealed))
	}
	data, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return Pending{}, stale(fmt.Errorf("oidc: sealed pending sign-in is not base64url: %w", err))
	}
	if len(data) < 1+aead.NonceSize()+aead.Overhead() || data[0] != sealVersion {
		return Pending{}, stale(errors.New("oidc: sealed pending sign-in is malformed"))
	}
	nonce, box := data[1:1+aead.NonceSize()], data[1+aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, box, sealContext)
	if err != nil {
		return Pending{}, stale(errors.New("oidc: sealed pending sign-in was altered or sealed with another key"))
	}
	var p Pending
	if err := json.Unmarshal(plain, &p); err != nil {
		return Pending{}, stale(fmt.Errorf("oidc: sealed pending sign-in: %w", err))
	}
	if p.State == "" || p.Verifier == "" || p.Nonce == "" || p.Created.IsZero() {
		return Pending{}, stale(errors.New("oidc: sealed pending sign-in is incomplete"))
	}
	switch age := now.Sub(p.Created); {
	case age > maxAge:
		return Pending{}, stale(fmt.Errorf("oidc: pending sign-in is %v old, more than %v", age.Round(time.Second), maxAge))
	case age < -clockSkew:
		return Pending{}, stale(fmt.Errorf("oidc: pending sign-in was created %v in the future", (-age).Round(time.Second)))
	}
	return p, nil
}

// newAEAD returns AES-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("oidc: seal key must be 16, 24 or 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("oidc: seal key: %w", err)
	}
	return cipher.NewGCM(block)
}

// stale is a pending sign-in cookie that cannot be used.
func stale(cause error) error {
	return rejected("the sign-in took too long or was started in another browser", cause)
}
