package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// cmdVersion prints this binary's version and, when RUNBOOKER_SERVER and
// RUNBOOKER_CREDENTIAL name a server, that server's.
func cmdVersion(ctx context.Context, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "runbooker %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if os.Getenv("RUNBOOKER_SERVER") == "" {
		return nil
	}
	fs := newFlagSet("version")
	client := clientFlags(fs)
	if _, err := parseFlags(fs, nil); err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := c.Version(ctx)
	if err != nil {
		return fmt.Errorf("the server at %s did not say its version: %w", os.Getenv("RUNBOOKER_SERVER"), err)
	}
	fmt.Fprintf(stdout, "server %s (%s)\n", v.Version, v.Go)
	return nil
}
