package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/agent"
)

func cmdModule(ctx context.Context, args []string, stdout io.Writer) error {
	const use = "usage: runbooker module upload FILE | list | get KIND NAME VERSION | delete KIND NAME VERSION   (KIND: ps or py)"
	verb, rest, c, err := subcommand("module", use, args, nil)
	if err != nil {
		return err
	}
	switch {
	case verb == "upload" && len(rest) == 1:
		data, err := os.ReadFile(rest[0])
		if err != nil {
			return err
		}
		m, err := c.UploadModule(ctx, filepath.Base(rest[0]), data)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "uploaded %s %s %s (%d bytes, sha256 %s)\n", m.Kind, m.Name, m.Version, m.Size, m.SHA256)
		return nil
	case verb == "list" && len(rest) == 0:
		ms, err := c.Modules(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			fmt.Fprintf(stdout, "%-3s %-40s %-15s %10d  %s  %s\n", m.Kind, m.Name, m.Version, m.Size,
				m.UploadedAt.Format(time.RFC3339), m.SHA256)
		}
		return nil
	case verb == "get" && len(rest) == 3:
		m, err := c.Module(ctx, runbooker.ModuleKind(rest[0]), rest[1], rest[2])
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	case verb == "delete" && len(rest) == 3:
		return c.DeleteModule(ctx, runbooker.ModuleKind(rest[0]), rest[1], rest[2])
	}
	return fmt.Errorf(use)
}

// moduleCache opens a worker's module cache: fetched files kept in dir
// (hidden from jobs), unpacked beside the support directory (readable by
// every job).
func moduleCache(src agent.ModuleSource, dir string, sup agent.Support, age time.Duration, clock runbooker.Clock, log *slog.Logger) (*agent.ModuleCache, error) {
	unpack := filepath.Join(filepath.Dir(sup.Dir), "modules")
	if sup.Dir == "" {
		unpack = filepath.Join(dir, "unpacked")
	}
	return agent.OpenModuleCache(src, agent.ModuleCacheConfig{Dir: dir, UnpackDir: unpack, MaxAge: age, Now: clock},
		log.With("component", "modules"))
}
