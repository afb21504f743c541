//go:build !linux

package postgres

import (
	"context"
	"errors"
	"time"
)

// Postmaster is not found here: /proc is Linux's (see servercpu_linux.go).
func Postmaster(context.Context, string) (int, error) {
	return 0, errors.New("a server's processes are read from Linux's /proc only")
}

// ServerCPU is not read here (see servercpu_linux.go).
func ServerCPU(int) (time.Duration, error) {
	return 0, errors.New("a server's processes are read from Linux's /proc only")
}
