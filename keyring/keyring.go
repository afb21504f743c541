// Package keyring encrypts secret values at rest with AES-256-GCM under the
// server's master key. A keyring holds the current key and any previous
// ones, so values written under an old key stay readable until they are
// re-encrypted (rotation).
package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runbooker/runbooker/privdir"
)

// KeySize is the size of a master key: 256 bits.
const KeySize = 32

// Keyring holds master keys by id; Current encrypts, all decrypt.
type Keyring struct {
	current string
	keys    map[string]cipher.AEAD
	raw     map[string][]byte
	order   []string
}

// KeyID names a key without revealing it: the first 16 hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// New builds a keyring from keys, the first being the current one.
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no key")
	}
	k := &Keyring{keys: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	for i, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("keyring: key %d is %d bytes, want %d", i+1, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(key)
		if _, dup := k.keys[id]; dup {
			continue
		}
		k.keys[id] = aead
		k.raw[id] = append([]byte(nil), key...)
		k.order = append(k.order, id)
		if i == 0 {
			k.current = id
		}
	}
	return k, nil
}

// Current returns the id of the key new values are encrypted with.
func (k *Keyring) Current() string { return k.current }

// Encrypt seals plaintext under the current key. aad binds the ciphertext to
// its place (e.g. tenant and asset name) so it cannot be moved to another row.
func (k *Keyring) Encrypt(plaintext, aad []byte) (keyID string, ciphertext []byte, err error) {
	aead := k.keys[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return k.current, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Decrypt opens a value sealed under keyID with the same aad.
func (k *Keyring) Decrypt(keyID string, ciphertext, aad []byte) ([]byte, error) {
	aead, ok := k.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("keyring: value is encrypted under key %s, which this server does not have", keyID)
	}
	if len(ciphertext) < aead.NonceSize() {
		return nil, errors.New("keyring: ciphertext too short")
	}
	n := aead.NonceSize()
	pt, err := aead.Open(nil, ciphertext[:n], ciphertext[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("keyring: value under key %s does not decrypt (wrong key or tampered)", keyID)
	}
	return pt, nil
}

// Generate returns a new random master key.
func Generate() []byte {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		panic("keyring: crypto/rand failed: " + err.Error())
	}
	return key
}

// Parse reads keys from text: one base64 (or 64-hex-digit) key per line,
// current first; blank lines and # comments are ignored.
func Parse(text []byte) ([][]byte, error) {
	var keys [][]byte
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var key []byte
		var err error
		if len(line) == 2*KeySize {
			key, err = hex.DecodeString(line)
		} else {
			key, err = base64.StdEncoding.DecodeString(line)
		}
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("master key line %d: want %d bytes as base64 or hex", i+1, KeySize)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("master key file holds no key")
	}
	return keys, nil
}

// Format renders keys for a key file, current first.
func Format(keys ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("# Runbooker master keys, current first. Keep this file secret and backed up.\n")
	for _, key := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(key))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Keys returns the raw keys, current first (for writing a rotated key file).
func (k *Keyring) Keys() [][]byte {
	out := make([][]byte, 0, len(k.order))
	for _, id := range k.order {
		out = append(out, k.raw[id])
	}
	return out
}

// Load reads the keyring from the environment value (RUNBOOKER_MASTER_KEY)
// when given, else from path; when neither exists, it generates a key into
// path, private to this account (first start), and reports created = true.
// A key file others may read is refused: on Unix by its mode, on Windows,
// which ignores modes, by its access-control list (package privdir).
func Load(envValue, path string) (k *Keyring, created bool, err error) {
	if envValue != "" {
		keys, err := Parse([]byte(envValue))
		if err != nil {
			return nil, false, fmt.Errorf("RUNBOOKER_MASTER_KEY: %w", err)
		}
		k, err := New(keys...)
		return k, false, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := privdir.MkdirAll(filepath.Dir(path)); err != nil {
			return nil, false, err
		}
		key := Generate()
		if err := WriteFile(path, key); err != nil {
			return nil, false, err
		}
		k, err := New(key)
		return k, true, err
	} else if err != nil {
		return nil, false, err
	}
	if err := privdir.CheckFile(path); err != nil {
		return nil, false, fmt.Errorf("master key %w", err)
	}
	keys, err := Parse(data)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	k, err = New(keys...)
	return k, false, err
}

// WriteFile atomically writes keys to path, readable by this account only
// (mode 0600; on Windows a protected access-control list).
func WriteFile(path string, keys ...[]byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := privdir.ProtectFile(tmp.Name()); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(Format(keys...)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
