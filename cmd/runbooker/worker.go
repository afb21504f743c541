package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/agent"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/privdir"
	"github.com/runbooker/runbooker/sandbox"
)

// version is the build's version, reported by workers.
var version = "dev"

// WorkerConfig is the validated configuration of `runbooker worker`.
type WorkerConfig struct {
	Server     string
	Group      string
	Token      string
	Name       string
	StateDir   string
	Capacity   int
	CA         string
	Insecure   bool
	Drain      time.Duration
	Heartbeat  time.Duration
	MaxRuntime time.Duration
	PowerShell string
	LogLevel   string
	JobDir     string
	Isolation  IsolationFlags
	// ModuleCacheAge is how long a module no job used stays cached.
	ModuleCacheAge time.Duration
	// HostScript is the PowerShell host script installed (and signed)
	// where Windows' script rules allow it; "" writes a copy per job.
	HostScript string
}

// workerIdentity is what a registered worker keeps in its state dir.
type workerIdentity struct {
	Server   string `json:"server"`
	WorkerID string `json:"workerId"`
	Secret   string `json:"secret"`
	TenantID string `json:"tenantId"`
	Group    string `json:"group"`
}

func workerFlags(args []string) (WorkerConfig, error) {
	var c WorkerConfig
	fs, tokenFile := workerFlagSet("worker", &c)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return c, err
	}
	if len(rest) > 0 {
		return c, fmt.Errorf("unexpected argument %q", rest[0])
	}
	return c, c.check(*tokenFile, "")
}

// workerFlagSet declares the worker's flags into c; `worker install` adds
// its own to the same set. The token file's name is returned apart, as
// install refers to the file rather than reading the token into c.
func workerFlagSet(name string, c *WorkerConfig) (*flag.FlagSet, *string) {
	fs := newFlagSet(name)
	fs.StringVar(&c.Server, "server", "", "control plane URL (https://…)")
	fs.StringVar(&c.Group, "group", "", "worker group to join (checked against the token)")
	fs.StringVar(&c.Token, "token", "", "the group's registration token (first start only; visible in ps: prefer --token-file or RUNBOOKER_TOKEN)")
	tokenFile := fs.String("token-file", "", "file holding the group's registration token (first start only)")
	fs.StringVar(&c.Name, "name", "", "worker name (default: host name)")
	fs.StringVar(&c.StateDir, "state-dir", defaultDir("worker-state"), "where the worker keeps its credential and undelivered reports")
	fs.IntVar(&c.Capacity, "capacity", 2*runtime.NumCPU(), "jobs run at once")
	fs.StringVar(&c.CA, "ca", "", "PEM file of the CA that signed the server's certificate")
	fs.BoolVar(&c.Insecure, "insecure", false, "allow plain http to a non-loopback server")
	fs.DurationVar(&c.Drain, "drain", 5*time.Minute, "on SIGTERM, how long running jobs may finish before they are stopped")
	fs.DurationVar(&c.Heartbeat, "heartbeat", 10*time.Second, "lease heartbeat interval (stop requests arrive within one)")
	fs.DurationVar(&c.MaxRuntime, "max-runtime", 3*time.Hour, "runtime limit of a job unless its group sets one")
	fs.StringVar(&c.PowerShell, "powershell", "pwsh", "PowerShell edition unless the group sets one: pwsh or powershell")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.JobDir, "job-dir", "auto", "where job directories are made; auto: the system temp dir, or /dev/shm when only that is a tmpfs")
	addIsolationFlags(fs, &c.Isolation)
	fs.DurationVar(&c.ModuleCacheAge, "module-cache-age", 24*time.Hour, "how long a module no job used stays cached (STATE-DIR/modules)")
	fs.StringVar(&c.HostScript, "host-script", "", "PowerShell host script to run instead of a copy in each job directory: "+
		"written by `runbooker worker host-script PATH` where AppLocker/WDAC rules allow scripts, signed for an AllSigned policy")
	return fs, tokenFile
}

// check validates the parsed flags and reads the token file, looked up
// under root (a packaging root for `worker install --root`; "" is /).
func (c *WorkerConfig) check(tokenFile, root string) error {
	if tokenFile != "" {
		if c.Token != "" {
			return fmt.Errorf("give the registration token once: --token (or RUNBOOKER_TOKEN) or --token-file, not both")
		}
		b, err := os.ReadFile(filepath.Join(root, tokenFile))
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		if c.Token = strings.TrimSpace(string(b)); c.Token == "" {
			return fmt.Errorf("--token-file %s is empty", tokenFile)
		}
	}
	if c.Server == "" {
		return fmt.Errorf("--server is required")
	}
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %q must be an https:// URL", c.Server)
	}
	if u.Scheme == "http" && !c.Insecure && !isLoopback(u.Hostname()) {
		return fmt.Errorf("--server %s is plain http to a non-loopback host; use https, or --insecure if you really mean it", c.Server)
	}
	if c.Capacity < 1 {
		return fmt.Errorf("--capacity must be at least 1")
	}
	if _, err := c.Isolation.config(nil); err != nil {
		return err
	}
	if c.PowerShell != "pwsh" && c.PowerShell != "powershell" {
		return fmt.Errorf("--powershell must be pwsh or powershell")
	}
	if c.HostScript != "" {
		if err := sandbox.CheckHostScript(filepath.Join(root, c.HostScript)); err != nil {
			return fmt.Errorf("--host-script: %w", err)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func tlsConfig(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s holds no PEM certificate", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// identity loads the worker's credential, registering with the token when
// there is none yet (or it was made for another server).
func identity(ctx context.Context, c WorkerConfig, tlsCfg *tls.Config, langs []runbooker.Language, log *slog.Logger) (*workerIdentity, error) {
	path := filepath.Join(c.StateDir, "worker.json")
	if b, err := os.ReadFile(path); err == nil {
		var id workerIdentity
		if json.Unmarshal(b, &id) == nil && id.Server == c.Server && id.WorkerID != "" {
			if c.Group != "" && id.Group != c.Group {
				return nil, fmt.Errorf("this state dir belongs to a worker of group %q, not %q; use another --state-dir", id.Group, c.Group)
			}
			return &id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if c.Token == "" {
		return nil, fmt.Errorf("the worker is not registered yet: pass --token-file, RUNBOOKER_TOKEN or --token (from `runbooker group create`)")
	}
	host, _ := os.Hostname()
	name := c.Name
	if name == "" {
		name = host
	}
	resp, err := rbhttp.Register(ctx, c.Server, tlsCfg, rbhttp.RegisterRequest{Token: c.Token, Name: name,
		Version: version, OS: runtime.GOOS, Arch: runtime.GOARCH, Hostname: host, Languages: langs})
	if err != nil {
		return nil, fmt.Errorf("registering with %s: %w", c.Server, err)
	}
	if c.Group != "" && resp.Group != c.Group {
		return nil, fmt.Errorf("the token belongs to group %q, not %q", resp.Group, c.Group)
	}
	id := &workerIdentity{Server: c.Server, WorkerID: resp.WorkerID, Secret: resp.Secret, TenantID: resp.TenantID, Group: resp.Group}
	b, _ := json.MarshalIndent(id, "", "  ")
	if err := privdir.MkdirAll(c.StateDir); err != nil {
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	log.Info("registered", "worker", id.WorkerID, "tenant", id.TenantID, "group", id.Group)
	return id, nil
}

func cmdWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "install" || args[0] == "uninstall") {
		return cmdWorkerService(ctx, args[0], args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "host-script" {
		return cmdHostScript(args[1:], stdout)
	}
	c, err := workerFlags(args)
	if err != nil {
		return err
	}
	// Under the Windows service control manager a stop or shutdown request
	// cancels ctx, as SIGTERM does elsewhere, and the log goes to a file.
	return runService(ctx, c, stderr, func(ctx context.Context, stderr io.Writer) error {
		return runWorker(ctx, c, stderr)
	})
}

func runWorker(ctx context.Context, c WorkerConfig, stderr io.Writer) error {
	log, err := newLogger(stderr, c.LogLevel)
	if err != nil {
		return err
	}
	tlsCfg, err := tlsConfig(c.CA)
	if err != nil {
		return err
	}
	// The state dir holds the worker's credential and its undelivered
	// reports; no job may read it (on Windows a folder that grants anyone
	// but SYSTEM, Administrators and the worker's account is refused). The
	// interpreters are found first, as the worker reports them when it
	// registers.
	if err := privdir.MkdirAll(c.StateDir); err != nil {
		return fmt.Errorf("--state-dir: %w", err)
	}
	in, sup, err := setUpJobs(c.JobDir, c.Isolation, []string{c.StateDir}, log)
	if err != nil {
		return err
	}
	defer in.Close()
	if c.HostScript != "" {
		if in.HostScript, err = filepath.Abs(c.HostScript); err != nil {
			return err
		}
	}
	langs := in.Languages()
	id, err := identity(ctx, c, tlsCfg, langs, log)
	if err != nil {
		return err
	}
	client, err := rbhttp.NewWorkerClient(c.Server, id.WorkerID, id.Secret, tlsCfg)
	if err != nil {
		return err
	}
	client.Languages = langs
	// Say at once that this worker claims again, and what it can run; a
	// server older than the call answers 404, which changes nothing.
	tellState(client, runbooker.WorkerActive, langs, log)
	spool, err := agent.OpenSpool(filepath.Join(c.StateDir, "spool"), client, log)
	if err != nil {
		return err
	}
	ch, err := agent.OpenChannel(client, log)
	if err != nil {
		return err
	}
	defer ch.Close()
	mods, err := moduleCache(client, filepath.Join(c.StateDir, "modules"), sup, c.ModuleCacheAge, nil, log)
	if err != nil {
		return fmt.Errorf("the module cache: %w", err)
	}
	a := agent.New(spool, agent.Config{
		Capacity: c.Capacity, HeartbeatEvery: c.Heartbeat, MaxRuntime: c.MaxRuntime, PowerShell: c.PowerShell,
		Interpreters: in, Prepare: agent.Preparer(ch, sup), Masks: ch.Secrets, Modules: mods,
	}, log.With("worker", id.WorkerID, "group", id.Group))
	a.Start(ctx)
	log.Info("worker running", "server", c.Server, "group", id.Group, "capacity", c.Capacity)
	<-ctx.Done()
	log.Info("draining", "deadline", c.Drain)
	tellState(client, runbooker.WorkerDraining, nil, log)
	a.Stop(c.Drain)
	// Give undelivered reports a moment; what is left goes at the next start.
	deadline := time.Now().Add(10 * time.Second)
	for spool.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	spool.Close()
	tellState(client, runbooker.WorkerStopped, nil, log)
	return nil
}

// tellState reports the worker's state to the server, briefly: a worker
// that cannot reach the server still starts and stops.
func tellState(client *rbhttp.WorkerClient, state runbooker.WorkerState, langs []runbooker.Language, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.SetState(ctx, state, langs); err != nil && runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		log.Warn("could not tell the server the worker's state", "state", string(state), "err", err)
	}
}

// cmdHostScript is `runbooker worker host-script PATH`: it writes this
// version's PowerShell host script to PATH, to be signed and named with
// --host-script.
func cmdHostScript(args []string, stdout io.Writer) error {
	fs := newFlagSet("worker host-script")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] == "" {
		return errors.New("usage: runbooker worker host-script PATH (such as \"C:\\Program Files\\Runbooker\\rbhost.ps1\")")
	}
	path, err := filepath.Abs(rest[0])
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, sandbox.HostScript(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\nsign it where policy asks for signed scripts, in PowerShell:\n"+
		"  Set-AuthenticodeSignature -FilePath '%s' -Certificate (Get-ChildItem Cert:\\LocalMachine\\My -CodeSigningCert)[0]\n"+
		"and start the worker with --host-script '%s'\n", path, path, path)
	return nil
}
