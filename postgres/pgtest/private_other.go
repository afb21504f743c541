//go:build !unix

package pgtest

import "os/exec"

func ownForServer(paths ...string) error { return nil }

func asServerUser(cmd *exec.Cmd) {}
