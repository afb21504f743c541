//go:build !windows

package privdir

import (
	"fmt"
	"os"
)

// MkdirAll makes dir and its parents, dir with mode 0700. An existing
// folder is left as it is: its mode is the operator's choice on Unix.
func MkdirAll(dir string) error { return os.MkdirAll(dir, 0o700) }

// MkdirAllFor is MkdirAll: the account is a Windows SID and means nothing
// here, where the folder belongs to the user who makes it.
func MkdirAllFor(dir, _ string) error { return MkdirAll(dir) }

// ProtectFile gives path mode 0600.
func ProtectFile(path string) error { return os.Chmod(path, 0o600) }

// CheckFile refuses a file that its group or others may read or write.
func CheckFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("file %s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	return nil
}
