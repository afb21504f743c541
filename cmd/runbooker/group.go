package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/gitsync"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/keyring"
)

// offlineEngine opens the data dir's store (and keyring) for the commands
// that work without a running server.
func offlineEngine(ctx context.Context, dataDir, db string) (*engine.Engine, func(), error) {
	if db == "" {
		db = "sqlite:" + filepath.Join(dataDir, "runbooker.db")
	}
	st, err := openStore(ctx, db, dataDir)
	if err != nil {
		return nil, nil, err
	}
	e := engine.New(st, engine.Config{}, nil)
	k, _, err := keyring.Load(os.Getenv("RUNBOOKER_MASTER_KEY"), masterKeyPath(dataDir, ""))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	e.SetKeyring(k)
	return e, func() { st.Close() }, nil
}

func masterKeyPath(dataDir, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(dataDir, "master.key")
}

func cmdGroup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: runbooker group create NAME [--data DIR] [--default-hybrid] [--run-as USER] [--max-runtime D] [--token-expires D|TIME] [--token-max-uses N] | list | " +
		"set NAME [--run-as USER] [--memory SIZE] [--max-procs N] [--cpu-weight W] [--max-runtime D] | rotate-token NAME [--token-expires D|TIME] [--token-max-uses N] | delete NAME"
	if len(args) == 0 {
		return fmt.Errorf(use)
	}
	verb := args[0]
	fs := newFlagSet("group " + verb)
	client := clientFlags(fs)
	dataDir := fs.String("data", defaultDir("data"), "create: data directory")
	db := fs.String("db", "", "create: database (default sqlite:DATA/runbooker.db)")
	tenant := fs.String("tenant", runbooker.DefaultTenant, "create: tenant")
	defHybrid := fs.Bool("default-hybrid", false, "create: runbooks named *_hybrid go to this group")
	runAs := fs.String("run-as", "", "create: user jobs run as (Linux workers running as root)")
	maxRuntime := fs.Duration("max-runtime", 0, "create: per-job runtime limit")
	ps := fs.String("powershell", "", "create: pwsh or powershell")
	memory := fs.String("memory", "", "set: memory limit per job (such as 1GiB; 0: the worker's default)")
	maxProcs := fs.Int("max-procs", -1, "set: processes per job (0: the worker's default)")
	cpuWeight := fs.Int("cpu-weight", -1, "set: CPU weight per job, 1-10000 (0: the worker's default)")
	tokenExpires := fs.String("token-expires", "", "create, rotate-token: the registration token expires after this long (such as 24h) or at this RFC 3339 time")
	tokenMaxUses := fs.Int("token-max-uses", 0, "create, rotate-token: the registration token registers at most this many workers (0: no limit)")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	expires, err := tokenExpiry(*tokenExpires, time.Now())
	if err != nil {
		return err
	}
	if verb == "create" {
		if len(rest) != 1 {
			return fmt.Errorf(use)
		}
		e, closeFn, err := offlineEngine(ctx, *dataDir, *db)
		if err != nil {
			return err
		}
		defer closeFn()
		g := &runbooker.WorkerGroup{TenantID: *tenant, Name: rest[0], DefaultHybrid: *defHybrid, RunAs: *runAs,
			MaxRuntime: *maxRuntime, PowerShell: *ps, TokenExpiresAt: expires, TokenMaxUses: *tokenMaxUses}
		token, err := e.CreateGroup(ctx, g)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created worker group %q in tenant %q; its registration token%s is shown once:\n%s\n", g.Name, g.TenantID,
			tokenLimitText(g.TokenExpiresAt, g.TokenMaxUses), token)
		return nil
	}
	c, err := client()
	if err != nil {
		return err
	}
	switch {
	case verb == "list" && len(rest) == 0:
		groups, err := c.Groups(ctx)
		if err != nil {
			return err
		}
		for _, g := range groups {
			fmt.Fprintf(stdout, "%s%s\n", g.Name, map[bool]string{true: " (default hybrid)"}[g.DefaultHybrid])
			for _, w := range g.Workers {
				state := w.Status
				if state == "" { // a server older than the field
					state = map[bool]string{true: "online", false: "offline"}[w.Online]
				}
				fmt.Fprintf(stdout, "  %s  %-20s %-8s %s/%s v%s  last seen %s  jobs %d\n", w.ID, w.Name, state, w.OS, w.Arch,
					w.Version, w.LastSeenAt.Local().Format(time.DateTime), len(w.CurrentJobs))
			}
		}
		return nil
	case verb == "set" && len(rest) == 1:
		g, err := c.Group(ctx, rest[0])
		if err != nil {
			return err
		}
		workers := g.Workers
		g.Workers, g.Token = nil, ""
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["run-as"] {
			g.RunAs = *runAs
			if g.RunAs != "" {
				warnWindowsWorkers(stderr, g.Name, g.RunAs, workers)
			}
		}
		if set["max-runtime"] {
			g.MaxRuntimeSeconds = int64(maxRuntime.Seconds())
		}
		if set["powershell"] {
			g.PowerShell = *ps
		}
		if set["memory"] {
			g.MemoryLimit = 0
			if *memory != "0" {
				if g.MemoryLimit, err = parseBytes(*memory); err != nil {
					return fmt.Errorf("--memory: %v", err)
				}
			}
		}
		if set["max-procs"] {
			g.MaxProcesses = *maxProcs
		}
		if set["cpu-weight"] {
			g.CPUWeight = *cpuWeight
		}
		out, err := c.UpdateGroup(ctx, *g)
		if err == nil {
			fmt.Fprintf(stdout, "worker group %q: run as %s, memory %s, processes %s, CPU weight %s, runtime limit %s\n", out.Name,
				orDefault(out.RunAs, "a user of its own per job"), orDefault(sizeText(out.MemoryLimit), "default"),
				orDefault(numText(out.MaxProcesses), "default"), orDefault(numText(out.CPUWeight), "default"),
				orDefault(durText(out.MaxRuntimeSeconds), "default"))
		}
		return err
	case verb == "rotate-token" && len(rest) == 1:
		tok, err := c.RotateGroupToken(ctx, rest[0], rbhttp.TokenRequest{TokenExpiresAt: expires, TokenMaxUses: *tokenMaxUses})
		if err == nil {
			if limits := tokenLimitText(tok.TokenExpiresAt, tok.TokenMaxUses); limits != "" {
				fmt.Fprintf(stderr, "the new registration token of worker group %q%s:\n", rest[0], limits)
			}
			fmt.Fprintln(stdout, tok.Token)
		}
		return err
	case verb == "delete" && len(rest) == 1:
		return c.DeleteGroup(ctx, rest[0])
	}
	return fmt.Errorf(use)
}

// tokenExpiry reads --token-expires: a duration from now or an RFC 3339
// time; empty is no expiry.
func tokenExpiry(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--token-expires %s: the duration must be positive", v)
		}
		return now.Add(d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--token-expires %q is neither a duration (such as 24h) nor an RFC 3339 time (such as 2030-01-02T15:04:05Z)", v)
	}
	return t.UTC(), nil
}

// tokenLimitText says what limits a new registration token has, if any.
func tokenLimitText(expires time.Time, maxUses int) string {
	var s string
	if !expires.IsZero() {
		s = " (valid until " + expires.UTC().Format(time.RFC3339)
	}
	if maxUses > 0 {
		if s == "" {
			s = " (for "
		} else {
			s += ", for "
		}
		s += fmt.Sprintf("%d registrations", maxUses)
	}
	if s != "" {
		s += ")"
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sizeText(n int64) string {
	switch {
	case n == 0:
		return ""
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func numText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func durText(sec int64) string {
	if sec == 0 {
		return ""
	}
	return (time.Duration(sec) * time.Second).String()
}

func cmdAsset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: runbooker asset list [--type T] | set TYPE NAME JSON [--encrypted] [--description D] | get TYPE NAME | delete TYPE NAME"
	if len(args) == 0 {
		return fmt.Errorf(use)
	}
	verb := args[0]
	fs := newFlagSet("asset " + verb)
	client := clientFlags(fs)
	encrypted := fs.Bool("encrypted", false, "set: encrypt a variable (credentials, certificates, connections always are)")
	desc := fs.String("description", "", "set: description")
	typ := fs.String("type", "", "list: only this type")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch {
	case verb == "list" && len(rest) == 0:
		as, err := c.Assets(ctx, runbooker.AssetType(*typ))
		if err != nil {
			return err
		}
		for _, a := range as {
			fmt.Fprintf(stdout, "%-12s %-30s encrypted=%v  %s\n", a.Type, a.Name, a.Encrypted, a.Description)
		}
		return nil
	case verb == "set" && len(rest) == 3:
		if !json.Valid([]byte(rest[2])) {
			return fmt.Errorf("the value must be JSON, e.g. '\"text\"', 42 or '{\"userName\":\"u\",\"password\":\"p\"}'")
		}
		a, err := c.PutAsset(ctx, runbooker.AssetType(rest[0]), rest[1], rbhttp.AssetPut{Description: *desc, Encrypted: *encrypted, Value: json.RawMessage(rest[2])})
		if err != nil {
			return err
		}
		return enc.Encode(a)
	case verb == "get" && len(rest) == 2:
		a, err := c.Asset(ctx, runbooker.AssetType(rest[0]), rest[1])
		if err != nil {
			return err
		}
		return enc.Encode(a)
	case verb == "delete" && len(rest) == 2:
		return c.DeleteAsset(ctx, runbooker.AssetType(rest[0]), rest[1])
	}
	return fmt.Errorf(use)
}

// cmdRotateKey generates a new master key, re-seals every secret asset
// under it, then drops the old keys from the key file. Stop the server
// first: it holds the keyring in memory.
func cmdRotateKey(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("rotate-key")
	dataDir := fs.String("data", defaultDir("data"), "data directory")
	db := fs.String("db", "", "database (default sqlite:DATA/runbooker.db)")
	keyFile := fs.String("master-key-file", "", "master key file (default DATA/master.key)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if os.Getenv("RUNBOOKER_MASTER_KEY") != "" {
		return fmt.Errorf("the master key comes from RUNBOOKER_MASTER_KEY: rotate it where it is kept, then re-run with the new key first and the old one on the next line")
	}
	path := masterKeyPath(*dataDir, *keyFile)
	old, _, err := keyring.Load("", path)
	if err != nil {
		return err
	}
	fresh := keyring.Generate()
	// Write new + old first, so a crash half-way leaves every value readable.
	if err := keyring.WriteFile(path, append([][]byte{fresh}, old.Keys()...)...); err != nil {
		return err
	}
	e, closeFn, err := offlineEngine(ctx, *dataDir, *db)
	if err != nil {
		return err
	}
	defer closeFn()
	n, err := e.RotateKeys(ctx)
	if err != nil {
		return fmt.Errorf("re-sealing assets (the key file keeps both keys; re-run to finish): %w", err)
	}
	tenants, err := e.Store().Tenants(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(tenants))
	for i, t := range tenants {
		ids[i] = t.ID
	}
	syncer := gitsync.New(e.Store(), e.Keyring(), gitsync.Config{Dir: filepath.Join(*dataDir, "git")}, nil)
	ns, err := syncer.Reseal(ctx, ids)
	if err != nil {
		return fmt.Errorf("re-sealing sync source credentials (the key file keeps both keys; re-run to finish): %w", err)
	}
	n += ns
	if err := keyring.WriteFile(path, fresh); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-sealed %d secrets (assets and sync source credentials) under new key %s\n", n, keyring.KeyID(fresh))
	return nil
}

// warnWindowsWorkers says which workers of a group run Windows: they
// cannot run jobs as a RunAs user, and the server hands them none while
// the group has one.
func warnWindowsWorkers(stderr io.Writer, group, runAs string, workers []rbhttp.WorkerView) {
	var names []string
	for _, w := range workers {
		if w.OS == "windows" {
			names = append(names, w.Name)
		}
	}
	if len(names) > 0 {
		fmt.Fprintf(stderr, "warning: %s of worker group %q run Windows, which cannot run jobs as %q: "+
			"they claim none of the group's jobs while it has a RunAs user\n", strings.Join(names, ", "), group, runAs)
	}
}
