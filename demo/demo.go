// Package demo embeds the demo runbooks `runbooker serve --demo` imports:
// small, real Bash and Python runbooks laid out <scope>/<category>/<name>.<ext>
// that show parameters, several streams and a failure.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed runbooks
var files embed.FS

// Runbooks returns the demo runbook tree.
func Runbooks() fs.FS {
	sub, err := fs.Sub(files, "runbooks")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
