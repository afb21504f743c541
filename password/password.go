// Package password hashes and checks the passwords of local sign-in
// accounts with argon2id (RFC 9106), stored in the PHC string form
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>
//
// salt and key in standard base64 without padding.
//
// The parameters are RFC 9106's second recommended option (64 MiB, three
// passes) with two lanes instead of four, one per core of the two-core
// server Runbooker is sized for: a hash takes about 0.15 s of both cores
// (BenchmarkHash, on the two-core build machine) and 64 MiB while it runs. Callers that verify on request (sign-in) bound how
// many run at once and throttle failed sign-ins, so a burst of attempts
// cannot exhaust memory.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// The parameters new hashes get.
const (
	Memory  = 64 * 1024 // KiB
	Time    = 3         // passes over the memory
	Threads = 2         // lanes
	SaltLen = 16        // bytes
	KeyLen  = 32        // bytes
)

// Limits of the parameters Verify accepts. A stored hash is outside input
// for this purpose: one changed in the database must not make each sign-in
// attempt allocate gigabytes or run for minutes.
const (
	MaxMemory  = 1 << 20 // KiB: 1 GiB
	MaxTime    = 16
	MaxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// ErrMalformed is returned (wrapped) by Verify for a stored hash that is
// not an argon2id PHC string within the limits.
var ErrMalformed = errors.New("password: malformed hash")

// params are the parts of an encoded hash.
type params struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

var b64 = base64.RawStdEncoding.Strict()

func (p *params) encode() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

// Hash returns the encoded argon2id hash of pw with a fresh random salt.
func Hash(pw string) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	p := params{memory: Memory, time: Time, threads: Threads, salt: salt}
	p.key = argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, KeyLen)
	return p.encode(), nil
}

// Verify reports whether pw matches the encoded hash, comparing the keys
// in constant time. A hash that does not parse, or whose parameters are
// past the limits, is an error wrapping ErrMalformed (and no match).
func Verify(pw, encoded string) (bool, error) {
	p, err := parse(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters than
// new hashes get (or does not parse), so that a successful sign-in can
// store a fresh hash.
func NeedsRehash(encoded string) bool {
	p, err := parse(encoded)
	return err != nil || p.memory != Memory || p.time != Time || p.threads != Threads ||
		len(p.salt) != SaltLen || len(p.key) != KeyLen
}

var dummy struct {
	once sync.Once
	hash string
}

// Dummy spends on pw what Verify spends on a wrong password for an
// account that exists, and always fails: a sign-in for an unknown (or
// disabled) user calls it, so response times do not tell which UPNs exist.
func Dummy(pw string) {
	dummy.once.Do(func() {
		h, err := Hash(strings.Repeat("x", 16))
		if err != nil {
			panic(err) // crypto/rand failed: the OS is broken
		}
		dummy.hash = h
	})
	_, _ = Verify(pw, dummy.hash)
}

// parse reads an encoded hash. It accepts only the canonical spelling (the
// one encode writes), so there is exactly one text per hash, and only
// parameters within the limits.
func parse(encoded string) (*params, error) {
	bad := func(why string) (*params, error) { return nil, fmt.Errorf("%w: %s", ErrMalformed, why) }
	if len(encoded) > 512 {
		return bad("too long")
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return bad("not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	var m, t, th uint64
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return bad("parameters are not m,t,p")
	}
	for i, f := range fields {
		name, val, ok := strings.Cut(f, "=")
		n, err := strconv.ParseUint(val, 10, 32)
		if !ok || err != nil || name != "mtp"[i:i+1] {
			return bad("parameters are not m,t,p")
		}
		switch i {
		case 0:
			m = n
		case 1:
			t = n
		case 2:
			th = n
		}
	}
	switch {
	case th < 1 || th > MaxThreads:
		return bad("parallelism out of range")
	case t < 1 || t > MaxTime:
		return bad("time cost out of range")
	case m < 8*th || m > MaxMemory:
		return bad("memory cost out of range")
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	switch {
	case err1 != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen:
		return bad("bad salt")
	case err2 != nil || len(key) < minKeyLen || len(key) > maxKeyLen:
		return bad("bad key")
	}
	p := &params{memory: uint32(m), time: uint32(t), threads: uint8(th), salt: salt, key: key}
	if p.encode() != encoded {
		return bad("not in canonical form")
	}
	return p, nil
}
