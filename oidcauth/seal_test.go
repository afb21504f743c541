package oidcauth_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/oidcauth"
)

var (
	sealKey  = bytes.Repeat([]byte{0x42}, 32)
	sealedAt = time.Date(2026, 12, 1, 21, 0, 0, 123456789, time.UTC)
	pending  = oidcauth.Pending{
		State:    "STATE2WJ3FQ7ZK4XNVBM6YDP5TLA",
		Verifier: "d2VyaWZpZXItd2hpY2gtaXMtbG9uZy1lbm91Z2gtdG8tcGFzcw",
		Nonce:    "NONCEQW4RT7YP3ZXKM2VBN5LJH6",
		Created:  sealedAt,
	}
)

func mustSeal(t testing.TB, key []byte, p oidcauth.Pending) string {
	t.Helper()
	s, err := oidcauth.Seal(key, p)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		key := bytes.Repeat([]byte{byte(n)}, n)
		sealed := mustSeal(t, key, pending)
		if strings.ContainsAny(sealed, ";, \"=+/") || len(sealed) > 400 {
			t.Errorf("sealed value %q is not a compact cookie value", sealed)
		}
		got, err := oidcauth.Open(key, sealed, 10*time.Minute, sealedAt.Add(9*time.Minute))
		if err != nil {
			t.Fatalf("Open with %d-byte key: %v", n, err)
		}
		if got.State != pending.State || got.Verifier != pending.Verifier || got.Nonce != pending.Nonce || !got.Created.Equal(pending.Created) {
			t.Errorf("opened %+v, want %+v", got, pending)
		}
	}
	if a, b := mustSeal(t, sealKey, pending), mustSeal(t, sealKey, pending); a == b {
		t.Error("two seals of the same pending are equal: nonce reused")
	}
}

func TestOpenRejects(t *testing.T) {
	sealed := mustSeal(t, sealKey, pending)
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 1
	otherKey := bytes.Repeat([]byte{0x43}, 32)
	incomplete := pending
	incomplete.Nonce = ""

	for _, tc := range []struct {
		name   string
		key    []byte
		sealed string
		now    time.Time
		detail string
	}{
		{"tampered", sealKey, base64.RawURLEncoding.EncodeToString(flipped), sealedAt, "altered"},
		{"truncated", sealKey, sealed[:len(sealed)-4], sealedAt, "altered"},
		{"wrong key", otherKey, sealed, sealedAt, "another key"},
		{"expired", sealKey, sealed, sealedAt.Add(10*time.Minute + time.Second), "old, more than 10m"},
		{"from the future", sealKey, sealed, sealedAt.Add(-2 * time.Minute), "in the future"},
		{"empty", sealKey, "", sealedAt, "malformed"},
		{"not base64", sealKey, "!!!" + sealed, sealedAt, "base64"},
		{"too long", sealKey, strings.Repeat("A", 5000), sealedAt, "characters"},
		{"other version", sealKey, base64.RawURLEncoding.EncodeToString(append([]byte{2}, raw[1:]...)), sealedAt, "malformed"},
		{"incomplete", sealKey, mustSeal(t, sealKey, incomplete), sealedAt, "incomplete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oidcauth.Open(tc.key, tc.sealed, 10*time.Minute, tc.now)
			wantFailure(t, err, runbooker.EUNAUTHORIZED, tc.detail)
			if msg := runbooker.ErrorMessage(err); !strings.Contains(msg, "sign in again") {
				t.Errorf("message for the person: %q", msg)
			}
		})
	}
	// A small clock skew between servers is tolerated.
	if _, err := oidcauth.Open(sealKey, sealed, 10*time.Minute, sealedAt.Add(-30*time.Second)); err != nil {
		t.Errorf("Open 30 s before Created: %v", err)
	}
}

func TestSealMisuse(t *testing.T) {
	if _, err := oidcauth.Seal([]byte("short"), pending); err == nil || runbooker.ErrorCode(err) != runbooker.EINTERNAL {
		t.Errorf("Seal with a 5-byte key: %v", err)
	}
	sealed := mustSeal(t, sealKey, pending)
	if _, err := oidcauth.Open(sealKey[:20], sealed, time.Minute, sealedAt); err == nil || !strings.Contains(err.Error(), "16, 24 or 32") {
		t.Errorf("Open with a 20-byte key: %v", err)
	}
	if _, err := oidcauth.Open(sealKey, sealed, 0, sealedAt); err == nil || !strings.Contains(err.Error(), "maxAge") {
		t.Errorf("Open with maxAge 0: %v", err)
	}
}

// FuzzOpen feeds Open arbitrary cookie values. It must never panic, and
// whatever it accepts must be a complete Pending within maxAge.
func FuzzOpen(f *testing.F) {
	sealed := mustSeal(f, sealKey, pending)
	f.Add(sealed)
	f.Add(sealed[:40])
	f.Add("")
	f.Add("AQ")
	f.Add(base64.RawURLEncoding.EncodeToString(make([]byte, 60)))
	f.Add(strings.Repeat("_-", 200))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := oidcauth.Open(sealKey, s, 10*time.Minute, sealedAt)
		if err != nil {
			if runbooker.ErrorCode(err) != runbooker.EUNAUTHORIZED {
				t.Fatalf("Open(%q) failed with code %s: %v", s, runbooker.ErrorCode(err), err)
			}
			return
		}
		if p.State == "" || p.Verifier == "" || p.Nonce == "" || sealedAt.Sub(p.Created) > 10*time.Minute {
			t.Fatalf("Open(%q) accepted %+v", s, p)
		}
	})
}
