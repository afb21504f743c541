// Package privdir makes and checks the folders and files that hold secrets
// (a worker's credential and spool, the server's data directory, the master
// key) so that only the account that runs Runbooker and the machine's
// administrators can read them.
//
// On Unix that is mode 0700 for folders and 0600 for files. Windows ignores
// modes: there a folder gets a protected access-control list (DACL) that
// grants SYSTEM, Administrators and the account, inherited by all it
// holds, and an existing folder or file that grants anyone else access is
// refused with an error naming the principal. The rules are plain
// functions in this file, so they are tested on every system; the system
// calls that read and write the lists are in privdir_windows.go.
package privdir

import (
	"fmt"
	"strings"
)

// Well-known security identifiers.
const (
	SIDSystem         = "S-1-5-18"     // NT AUTHORITY\SYSTEM (LocalSystem)
	SIDAdministrators = "S-1-5-32-544" // BUILTIN\Administrators
	SIDCreatorOwner   = "S-1-3-0"      // CREATOR OWNER: stands for whoever creates a child
)

// wellKnown names the SIDs an error is most likely to name, so the message
// reads the same on a machine whose account lookup fails.
var wellKnown = map[string]string{
	SIDSystem:         `NT AUTHORITY\SYSTEM`,
	SIDAdministrators: `BUILTIN\Administrators`,
	SIDCreatorOwner:   `CREATOR OWNER`,
	"S-1-1-0":         `Everyone`,
	"S-1-5-11":        `NT AUTHORITY\Authenticated Users`,
	"S-1-5-32-545":    `BUILTIN\Users`,
	"S-1-5-32-546":    `BUILTIN\Guests`,
	"S-1-5-4":         `NT AUTHORITY\INTERACTIVE`,
	"S-1-5-19":        `NT AUTHORITY\LOCAL SERVICE`,
	"S-1-5-20":        `NT AUTHORITY\NETWORK SERVICE`,
	"S-1-3-4":         `OWNER RIGHTS`,
}

// WellKnownName returns the account name of a well-known SID, or "".
func WellKnownName(sid string) string { return wellKnown[sid] }

// ACE is one entry of a Windows access-control list, reduced to what the
// check needs.
type ACE struct {
	Allow       bool   // an access-allowed entry; deny entries never grant
	SID         string // the principal, S-1-…
	Mask        uint32 // the access rights
	InheritOnly bool   // applies only to what the folder will hold
}

// Access rights that give nothing away: synchronising on a handle, reading
// the attributes (times, size) and reading the access-control list itself.
const harmless = 0x00100000 | 0x00020000 | 0x00000080 // SYNCHRONIZE | READ_CONTROL | FILE_READ_ATTRIBUTES

// privateSIDs are the principals a private folder grants full control.
func privateSIDs(account string) []string {
	sids := []string{SIDSystem, SIDAdministrators}
	if account != "" && account != SIDSystem && account != SIDAdministrators {
		sids = append(sids, account)
	}
	return sids
}

// PrivateSDDL is the security descriptor, in SDDL, of a private folder
// (dir) or file of account (a SID; "" for SYSTEM and Administrators only):
// a protected DACL, so nothing is inherited from the parent, with full
// control for SYSTEM, Administrators and account, which a folder passes
// on to everything made in it.
func PrivateSDDL(account string, dir bool) string {
	var b strings.Builder
	b.WriteString("D:P")
	flags := ""
	if dir {
		flags = "OICI" // object and container inherit
	}
	for _, sid := range privateSIDs(account) {
		fmt.Fprintf(&b, "(A;%s;FA;;;%s)", flags, sddlSID(sid))
	}
	return b.String()
}

// sddlSID writes the SDDL abbreviation of the SIDs that have one.
func sddlSID(sid string) string {
	switch sid {
	case SIDSystem:
		return "SY"
	case SIDAdministrators:
		return "BA"
	}
	return sid
}

// Excess returns the first entry of a DACL that grants a principal other
// than allowed (and CREATOR OWNER, which stands for whoever creates a
// child: only someone who can write to the folder) more than the harmless
// rights. Inherit-only entries count, since everything made in the folder
// inherits them.
func Excess(aces []ACE, allowed ...string) (ACE, bool) {
	for _, a := range aces {
		if !a.Allow || a.Mask&^harmless == 0 || a.SID == SIDCreatorOwner {
			continue
		}
		ok := false
		for _, s := range allowed {
			if strings.EqualFold(a.SID, s) {
				ok = true
				break
			}
		}
		if !ok {
			return a, true
		}
	}
	return ACE{}, false
}

// Allowed lists the principals a private folder or file of account may
// grant.
func Allowed(account string) []string { return privateSIDs(account) }

// Access rights, as the error describes them.
const (
	genericAll    = 0x10000000
	genericWrite  = 0x40000000
	genericRead   = 0x80000000
	genericExec   = 0x20000000
	fileAll       = 0x001F01FF
	readData      = 0x0001                                     // FILE_READ_DATA, FILE_LIST_DIRECTORY
	writeBits     = 0x0002 | 0x0004 | 0x0010 | 0x0100 | 0x0040 // write, append/add subfolder, write EA and attributes, delete child
	changeBits    = 0x00010000 | 0x00040000 | 0x00080000       // DELETE, WRITE_DAC, WRITE_OWNER
	readOtherBits = 0x0008 | 0x0020                            // FILE_READ_EA, FILE_EXECUTE/traverse
)

// DescribeAccess names rights in words: "full control", "read", "write"…
func DescribeAccess(mask uint32) string {
	if mask&genericAll != 0 || mask&fileAll == fileAll {
		return "full control"
	}
	var parts []string
	if mask&(genericRead|readData) != 0 {
		parts = append(parts, "read")
	}
	if mask&(genericWrite|writeBits) != 0 {
		parts = append(parts, "write")
	}
	if mask&changeBits != 0 {
		parts = append(parts, "delete or change-permissions")
	}
	if len(parts) == 0 && mask&(genericExec|readOtherBits) != 0 {
		parts = append(parts, "traverse or read-extended-attributes")
	}
	if len(parts) == 0 {
		return fmt.Sprintf("access (rights %#x)", mask)
	}
	return strings.Join(parts, " and ") + " access"
}

// ExcessError is the error for a folder or file that grants principal
// (an account name, or its SID when it has none) the rights of mask.
func ExcessError(path string, dir bool, principal string, mask uint32, inheritOnly bool) error {
	kind, what := "file", ""
	if dir {
		kind = "folder"
	}
	if inheritOnly {
		what = " to everything created in it"
	}
	return fmt.Errorf("%s %s grants %s %s%s, but it holds secrets that only SYSTEM, Administrators and the account Runbooker runs as may read: "+
		"stop inheriting and remove that entry (icacls \"%s\" /inheritance:d, then icacls \"%s\" /remove:g \"%s\" /t) or use another %s",
		kind, path, principal, DescribeAccess(mask), what, path, path, principal, kind)
}
