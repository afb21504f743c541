//go:build unix

package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// serverUser is the account PostgreSQL runs as when the tests run as root
// (PostgreSQL refuses root); nil otherwise.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user to run the server as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func ownForServer(paths ...string) error {
	c, err := serverUser()
	if err != nil || c == nil {
		return err
	}
	for _, p := range paths {
		if err := os.Chown(p, int(c.Uid), int(c.Gid)); err != nil {
			return err
		}
	}
	return nil
}

func asServerUser(cmd *exec.Cmd) {
	if c, _ := serverUser(); c != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c}
	}
}
