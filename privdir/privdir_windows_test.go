//go:build windows

package privdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// setDACL replaces path's DACL with the one of sddl.
func setDACL(t *testing.T, path, sddl string) {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
}

func TestWindowsFolderIsPrivateAndCheckedAgain(t *testing.T) {
	me, err := CurrentSID()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "Runbooker", "worker-state")
	if err := MkdirAll(dir); err != nil {
		t.Fatalf("making a private folder: %v", err)
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	if ctl, _, _ := sd.Control(); ctl&windows.SE_DACL_PROTECTED == 0 {
		t.Errorf("the folder's DACL is not protected: %s", sd)
	}
	if !strings.Contains(sd.String(), me) && me != SIDSystem {
		t.Errorf("the folder's DACL %s does not grant this account %s", sd, me)
	}
	// A file made in it inherits the list and passes the file check.
	f := filepath.Join(dir, "worker.json")
	if err := os.WriteFile(f, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(f); err != nil {
		t.Errorf("a file in the private folder: %v", err)
	}
	if err := MkdirAll(dir); err != nil {
		t.Errorf("checking the folder again: %v", err)
	}
	// A folder that lets Users read is refused, naming both.
	setDACL(t, dir, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;"+me+")(A;OICI;0x1200a9;;;BU)")
	err = MkdirAll(dir)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), `BUILTIN\Users`) {
		t.Errorf("a folder Users may read: %v", err)
	}
	setDACL(t, f, "D:P(A;;FA;;;"+me+")(A;;FR;;;WD)")
	if err := CheckFile(f); err == nil || !strings.Contains(err.Error(), "Everyone") {
		t.Errorf("a file Everyone may read: %v", err)
	}
	if err := ProtectFile(f); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(f); err != nil {
		t.Errorf("after ProtectFile: %v", err)
	}
}
