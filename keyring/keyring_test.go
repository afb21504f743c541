package keyring

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestEncryptDecryptAndBinding(t *testing.T) {
	k, err := New(Generate())
	if err != nil {
		t.Fatal(err)
	}
	id, ct, err := k.Encrypt([]byte("P@ssw0rd!"), []byte("default/var/sql"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("P@ssw0rd!")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := k.Decrypt(id, ct, []byte("default/var/sql"))
	if err != nil || string(pt) != "P@ssw0rd!" {
		t.Fatalf("decrypt: %q %v", pt, err)
	}
	if _, err := k.Decrypt(id, ct, []byte("other/var/sql")); err == nil {
		t.Error("a value moved to another row decrypted")
	}
	ct[len(ct)-1] ^= 1
	if _, err := k.Decrypt(id, ct, []byte("default/var/sql")); err == nil {
		t.Error("a tampered value decrypted")
	}
	_, ct2, _ := k.Encrypt([]byte("P@ssw0rd!"), []byte("default/var/sql"))
	if bytes.Equal(ct[:12], ct2[:12]) {
		t.Error("nonce reused")
	}
}

func TestRotationKeepsOldValuesReadable(t *testing.T) {
	old := Generate()
	k1, _ := New(old)
	id1, ct, _ := k1.Encrypt([]byte("v"), nil)
	k2, err := New(Generate(), old)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Current() == id1 {
		t.Fatal("rotation did not change the current key")
	}
	if pt, err := k2.Decrypt(id1, ct, nil); err != nil || string(pt) != "v" {
		t.Fatalf("old value after rotation: %q %v", pt, err)
	}
	k3, _ := New(Generate())
	if _, err := k3.Decrypt(id1, ct, nil); err == nil {
		t.Error("decrypted without the key")
	}
}

func TestLoadGeneratesOncePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")
	k, created, err := Load("", path)
	if err != nil || !created {
		t.Fatalf("first load: %v created=%v", err, created)
	}
	if runtime.GOOS != "windows" {
		st, _ := os.Stat(path)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v", st.Mode().Perm())
		}
	}
	k2, created, err := Load("", path)
	if err != nil || created || k2.Current() != k.Current() {
		t.Fatalf("second load: %v created=%v", err, created)
	}
	openToOthers(t, path)
	if _, _, err := Load("", path); err == nil {
		t.Error("a world-readable key file was accepted")
	}
	if err := WriteFile(path, k.Keys()...); err != nil {
		t.Fatal(err)
	}
	if k4, _, err := Load("", path); err != nil || k4.Current() != k.Current() {
		t.Errorf("the rewritten key file: %v", err)
	}
	env := string(Format(Generate()))
	k3, created, err := Load(env, path)
	if err != nil || created || k3.Current() == k.Current() {
		t.Errorf("env key: %v", err)
	}
	for _, bad := range []string{"short", "#only a comment\n", "!!!!"} {
		if _, _, err := Load(bad, path); err == nil {
			t.Errorf("bad key %q accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(Format(Generate())))
	f.Add([]byte("# c\n\n" + string(bytes.Repeat([]byte("a"), 64))))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := Parse(data)
		if err == nil {
			for _, k := range keys {
				if len(k) != KeySize {
					t.Fatalf("key of %d bytes", len(k))
				}
			}
		}
	})
}
