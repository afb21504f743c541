//go:build windows

package privdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// MkdirAll makes dir private to the account this process runs as (with
// SYSTEM and Administrators), its parents as Windows makes them. An
// existing dir is checked instead: one that grants anyone else access is
// refused with an error naming the folder and the principal.
func MkdirAll(dir string) error {
	sid, err := CurrentSID()
	if err != nil {
		return err
	}
	return MkdirAllFor(dir, sid)
}

// MkdirAllFor is MkdirAll for another account (a SID): a service's folder
// made by the administrator who installs it.
func MkdirAllFor(dir, account string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a folder", abs)
		}
		return check(abs, true, account)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString(PrivateSDDL(account, true))
	if err != nil {
		return fmt.Errorf("building the access-control list of %s: %w", abs, err)
	}
	sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	p, err := windows.UTF16PtrFromString(abs)
	if err != nil {
		return err
	}
	if err := windows.CreateDirectory(p, sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return fmt.Errorf("creating %s: %w", abs, err)
	}
	return check(abs, true, account)
}

// ProtectFile gives path a protected DACL of its own: SYSTEM,
// Administrators and this process's account.
func ProtectFile(path string) error {
	sid, err := CurrentSID()
	if err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString(PrivateSDDL(sid, false))
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
}

// CheckFile refuses a file that grants anyone but SYSTEM, Administrators
// and this process's account access.
func CheckFile(path string) error {
	sid, err := CurrentSID()
	if err != nil {
		return err
	}
	return check(path, false, sid)
}

// CurrentSID is the SID of the account this process runs as.
func CurrentSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("reading this process's account: %w", err)
	}
	return u.User.Sid.String(), nil
}

// check reads path's owner and DACL and refuses any principal besides
// SYSTEM, Administrators and account.
func check(path string, dir bool, account string) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the permissions of %s: %w", path, err)
	}
	allowed := Allowed(account)
	if owner, _, err := sd.Owner(); err == nil && owner != nil {
		if _, bad := Excess([]ACE{{Allow: true, SID: owner.String(), Mask: fileAll}}, allowed...); bad {
			return fmt.Errorf("%s is owned by %s, who may change its permissions; it holds secrets: "+
				"make SYSTEM or Administrators its owner (icacls \"%s\" /setowner Administrators)", path, accountName(owner), path)
		}
	}
	dacl, _, err := sd.DACL()
	if errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) || (err == nil && dacl == nil) {
		return ExcessError(path, dir, "Everyone (it has no access-control list)", fileAll, false)
	} else if err != nil {
		return fmt.Errorf("reading the permissions of %s: %w", path, err)
	}
	aces, sids := make([]ACE, 0, dacl.AceCount), map[string]*windows.SID{}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("reading the permissions of %s: %w", path, err)
		}
		// Allowed and allowed-callback entries share the layout up to the SID.
		allow := ace.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceType == 9
		if !allow {
			aces = append(aces, ACE{})
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		s := sid.String()
		sids[s] = sid
		aces = append(aces, ACE{Allow: true, SID: s, Mask: uint32(ace.Mask),
			InheritOnly: ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0})
	}
	if a, bad := Excess(aces, allowed...); bad {
		return ExcessError(path, dir, accountName(sids[a.SID]), a.Mask, a.InheritOnly)
	}
	return nil
}

// accountName is DOMAIN\name of sid, else the SID itself.
func accountName(sid *windows.SID) string {
	s := sid.String()
	if n := WellKnownName(s); n != "" {
		return n
	}
	account, domain, _, err := sid.LookupAccount("")
	if err != nil || account == "" {
		return s
	}
	if domain == "" {
		return account
	}
	return domain + `\` + account
}
