//go:build windows

package sandbox

import "golang.org/x/sys/windows"

var procGetOEMCP = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetOEMCP")

// nativeDecode reads the lines of native tools that are not UTF-8: in the
// OEM code page, which console programs write to pipes in (cmd.exe, ipconfig,
// Windows PowerShell's host), else the ANSI one.
var nativeDecode = func() func(string) string {
	if cp, _, _ := procGetOEMCP.Call(); cp != 0 {
		if d := codePageDecoder(uint32(cp)); d != nil {
			return d
		}
	}
	return codePageDecoder(windows.GetACP())
}()
