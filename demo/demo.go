// Package demo embeds the demo runbooks `runbooker serve --demo` imports:
// small, real Bash and Python runbooks laid out <scope>/<category>/<name>.<ext>
// that show parameters, several streams and a failure.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed runbooks people
var files embed.FS

// The demo tenant's people: a static directory (users, groups, devices)
// and the settings documents that give its helpdesk and administrators
// their rights.
var (
	Directory   = mustRead("people/directory.json")
	Roles       = mustRead("people/roles.json")
	Permissions = mustRead("people/permissions.json")
)

// Demo sign-ins: local accounts created at every --demo start, each a
// user of the demo directory.
var Users = []struct{ UPN, About string }{
	{"admin@contoso.com", "administrator"},
	{"helpdesk@contoso.com", "helpdesk: user runbooks, but not on VIP users"},
	{"vip.support@contoso.com", "VIP support crew: user runbooks, VIPs included"},
}

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

// Runbooks returns the demo runbook tree.
func Runbooks() fs.FS {
	sub, err := fs.Sub(files, "runbooks")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
