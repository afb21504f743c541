package password

import (
	"errors"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("Hash = %q, want the argon2id PHC form with the default parameters", h)
	}
	if h2, _ := Hash("correct horse battery staple"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{
		"correct horse battery staple":  true,
		"correct horse battery staplE":  false,
		"":                              false,
		"correct horse battery staple ": false,
	} {
		got, err := Verify(pw, h)
		if err != nil || got != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, got, err, want)
		}
	}
	if NeedsRehash(h) {
		t.Error("NeedsRehash of a fresh hash")
	}
}

// A fixed hash (made once with golang.org/x/crypto/argon2: password
// "password", salt "somesaltsomesalt", t=1, m=64, p=1, 16-byte key) still
// verifies: the encoding and parsing do not drift.
func TestVerifyKnownHash(t *testing.T) {
	const h = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$s0pH2PxtsBd08+8ZO8n1lw"
	for pw, want := range map[string]bool{"password": true, "Password": false} {
		got, err := Verify(pw, h)
		if err != nil || got != want {
			t.Errorf("Verify(%q, known) = %v, %v; want %v", pw, got, err, want)
		}
	}
	if !NeedsRehash(h) {
		t.Error("NeedsRehash of a hash with weaker parameters = false")
	}
}

func TestVerifyRejects(t *testing.T) {
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "s0pH2PxtsBd08+8ZO8n1lw"
	for _, h := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=2097152,t=1,p=1$" + salt + "$" + key, // 2 GiB
		"$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=255$" + salt + "$" + key,
		"$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + key,         // under 8 KiB per lane
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key,    // extra parameter
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,        // order
		"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,       // not canonical
		"$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key,       // sign
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key,      // padding
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,              // salt too short
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA",          // key too short
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",  // extra field
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "\n", // trailing newline
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:len(key)-1] + "!",
		"$argon2id$v=19$m=4294967295,t=4294967295,p=4294967295$" + salt + "$" + key,
	} {
		ok, err := Verify("password", h)
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformed", h, ok, err)
		}
	}
}

func TestDummyNeverPanics(t *testing.T) {
	Dummy("anything")
	Dummy("")
}

// FuzzParse: whatever the text, parse does not panic, and what it accepts
// is within the limits and spelled canonically.
func FuzzParse(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$s0pH2PxtsBd08+8ZO8n1lw")
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$s0pH2PxtsBd08+8ZO8n1lw")
	f.Add("$argon2id$v=19$m=2097152,t=1,p=1$c29tZXNhbHQ$a2V5a2V5a2V5a2V5a2V5")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parse(s)
		if err != nil {
			if p != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("parse(%q) = %v, %v", s, p, err)
			}
			return
		}
		if p.memory > MaxMemory || p.time > MaxTime || p.threads > MaxThreads || p.threads == 0 || p.time == 0 ||
			p.memory < 8*uint32(p.threads) || len(p.salt) < minSaltLen || len(p.key) < minKeyLen {
			t.Fatalf("parse(%q) accepted parameters past the limits: %+v", s, p)
		}
		if p.encode() != s {
			t.Fatalf("parse(%q) accepted a non-canonical spelling (canonical %q)", s, p.encode())
		}
	})
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
