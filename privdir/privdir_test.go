package privdir

import (
	"strconv"
	"strings"
	"testing"
)

// parseSDDL reads the ACEs of an SDDL DACL of the forms this package and
// Windows' defaults use: "D:P(A;OICI;FA;;;SY)(A;OICIIO;GA;;;CO)…".
func parseSDDL(t *testing.T, sddl string) []ACE {
	t.Helper()
	rights := map[string]uint32{"FA": fileAll, "GA": genericAll, "GR": genericRead, "GW": genericWrite,
		"GX": genericExec, "FR": 0x120089, "FX": 0x1200A0, "0x1200a9": 0x1200a9, "0x100116": 0x100116}
	abbrev := map[string]string{"SY": SIDSystem, "BA": SIDAdministrators, "CO": SIDCreatorOwner,
		"BU": "S-1-5-32-545", "WD": "S-1-1-0", "AU": "S-1-5-11"}
	var out []ACE
	_, rest, _ := strings.Cut(sddl, "(")
	for _, part := range strings.Split("("+rest, "(")[1:] {
		f := strings.Split(strings.TrimSuffix(part, ")"), ";")
		if len(f) != 6 {
			t.Fatalf("bad ACE %q", part)
		}
		mask, ok := rights[f[2]]
		if !ok {
			n, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32)
			if err != nil {
				t.Fatalf("rights %q", f[2])
			}
			mask = uint32(n)
		}
		sid := f[5]
		if full, ok := abbrev[sid]; ok {
			sid = full
		}
		out = append(out, ACE{Allow: f[0] == "A", SID: sid, Mask: mask, InheritOnly: strings.Contains(f[1], "IO")})
	}
	return out
}

func TestPrivateSDDL(t *testing.T) {
	const svc = "S-1-5-80-1234-5678"
	for _, c := range []struct {
		account string
		dir     bool
		want    string
	}{
		{svc, true, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;" + svc + ")"},
		{svc, false, "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + svc + ")"},
		{SIDSystem, true, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"}, // LocalSystem: no duplicate entry
		{"", true, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"},
	} {
		got := PrivateSDDL(c.account, c.dir)
		if got != c.want {
			t.Errorf("PrivateSDDL(%q, %v) = %s, want %s", c.account, c.dir, got, c.want)
		}
		if a, bad := Excess(parseSDDL(t, got), Allowed(c.account)...); bad {
			t.Errorf("the private DACL %s fails its own check on %+v", got, a)
		}
	}
	// Another account reading the folder that a service's account owns.
	if a, bad := Excess(parseSDDL(t, PrivateSDDL(svc, true)), Allowed("S-1-5-21-9-9-9-1001")...); !bad || a.SID != svc {
		t.Errorf("a folder granting another account passed: %+v %v", a, bad)
	}
}

func TestExcessFindsWhatWindowsGrantsByDefault(t *testing.T) {
	// A folder made under C:\ProgramData inherits this list: Users may read
	// it and create files and folders in it.
	programData := "D:(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;0x100116;;;BU)"
	a, bad := Excess(parseSDDL(t, programData), Allowed(SIDSystem)...)
	if !bad || a.SID != "S-1-5-32-545" {
		t.Fatalf("ProgramData's default list passed or named %+v", a)
	}
	err := ExcessError(`C:\ProgramData\Runbooker\worker-state`, true, WellKnownName(a.SID), a.Mask, a.InheritOnly)
	for _, want := range []string{`folder C:\ProgramData\Runbooker\worker-state`, `grants BUILTIN\Users read access`, "icacls"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Deny entries and harmless rights (read permissions, synchronise)
	// grant nothing; an inherit-only entry for Everyone does.
	aces := []ACE{{Allow: false, SID: "S-1-1-0", Mask: fileAll}, {Allow: true, SID: "S-1-5-11", Mask: 0x00120080},
		{Allow: true, SID: SIDSystem, Mask: fileAll}}
	if a, bad := Excess(aces, Allowed("")...); bad {
		t.Errorf("harmless entries refused: %+v", a)
	}
	aces = append(aces, ACE{Allow: true, SID: "S-1-1-0", Mask: genericRead, InheritOnly: true})
	if a, bad := Excess(aces, Allowed("")...); !bad || a.SID != "S-1-1-0" {
		t.Errorf("an inherit-only grant to Everyone passed")
	} else if err := ExcessError(`D:\x`, true, "Everyone", a.Mask, a.InheritOnly); !strings.Contains(err.Error(), "to everything created in it") {
		t.Errorf("error %q", err)
	}
}

func TestDescribeAccess(t *testing.T) {
	for mask, want := range map[uint32]string{
		fileAll: "full control", genericAll: "full control", 0x1200a9: "read access", genericRead: "read access",
		0x100116: "write access", 0x00010000: "delete or change-permissions access", 0x20: "traverse or read-extended-attributes access",
		0x120089 | 0x116: "read and write access",
	} {
		if got := DescribeAccess(mask); got != want {
			t.Errorf("DescribeAccess(%#x) = %q, want %q", mask, got, want)
		}
	}
}
