package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/agent"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/entra"
	"github.com/runbooker/runbooker/gitsync"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/keyring"
	"github.com/runbooker/runbooker/metrics"
	"github.com/runbooker/runbooker/portal"
	"github.com/runbooker/runbooker/postgres"
	"github.com/runbooker/runbooker/privdir"
	"github.com/runbooker/runbooker/sandbox"
	"github.com/runbooker/runbooker/sqlite"
)

// ServeConfig is the validated configuration of `runbooker serve`.
type ServeConfig struct {
	Listen        string
	DataDir       string
	DB            string // sqlite:PATH or postgres://…
	Demo          bool
	RunWait       time.Duration
	LeaseTTL      time.Duration
	Retention     time.Duration
	CloudCapacity int
	MaxRuntime    time.Duration
	OutputCap     int64
	OutputQuota   int64 // per tenant, bytes of stored records; 0: none
	Drain         time.Duration
	LogLevel      string
	MasterKeyFile string
	TLSCert       string
	TLSKey        string
	JobDir        string
	Isolation     IsolationFlags
	// SyncAllowLocal lets sync sources name local paths and file:// URLs;
	// SyncAllowedHosts limits the hosts they may name.
	SyncAllowLocal   bool
	SyncAllowedHosts gitsync.Hosts
	// IdentityAllowLocal lets the authorities of tenants' managed
	// identities (settings/identity) be on loopback or link-local addresses.
	IdentityAllowLocal bool
	// RegisterBurst is how many worker registrations one address, and one
	// token, may make at once before they are slowed to one per 3 s.
	RegisterBurst int
	// DBPoolSize and DBStatementTimeout tune a PostgreSQL store's pool.
	DBPoolSize         int
	DBStatementTimeout time.Duration
	// People: the directory of tenants without one of their own, OpenID
	// Connect sign-in, and session lifetimes.
	Directory string // static:PATH, ldap:URL or msgraph
	People    PeopleFlags
	Metrics   MetricsFlags // Prometheus at /metrics (metrics.go)
	// ModuleMaxSize caps an uploaded module file; ModuleCacheAge is how
	// long the built-in group keeps a module no job used.
	ModuleMaxSize  int64
	ModuleCacheAge time.Duration
}

func serveFlags(args []string) (ServeConfig, error) {
	var c ServeConfig
	fs := newFlagSet("serve")
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.DataDir, "data", defaultDir("data"), "data directory (SQLite database, master key)")
	fs.StringVar(&c.DB, "db", "", "database: sqlite:PATH (default sqlite:DATA/runbooker.db) or postgres://…")
	fs.BoolVar(&c.Demo, "demo", false, "import the demo runbooks and print ready-to-paste commands")
	fs.DurationVar(&c.RunWait, "run-wait", 10*time.Minute, "how long a synchronous run waits before answering 202")
	fs.DurationVar(&c.LeaseTTL, "lease-ttl", 30*time.Second, "job lease lifetime without heartbeat")
	fs.DurationVar(&c.Retention, "retention", 30*24*time.Hour, "how long finished jobs are kept")
	fs.IntVar(&c.CloudCapacity, "cloud-capacity", 2*runtime.NumCPU(), "jobs the built-in group runs at once")
	fs.DurationVar(&c.MaxRuntime, "max-runtime", 3*time.Hour, "runtime limit of a job in the built-in group")
	fs.Int64Var(&c.OutputCap, "output-cap", 64<<20, "bytes of stream text kept per job")
	fs.Int64Var(&c.OutputQuota, "tenant-output-quota", 0, "bytes of stream text the stored jobs of one tenant may hold (0: no limit); past it, output is dropped with a Warning")
	fs.DurationVar(&c.Drain, "drain", 30*time.Second, "on shutdown, how long running jobs may finish")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "master key file (default DATA/master.key; RUNBOOKER_MASTER_KEY holds the key itself)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.IntVar(&c.RegisterBurst, "register-burst", 20, "worker registrations one address, and one token, may make at once before they are slowed to one per 3 s")
	fs.IntVar(&c.DBPoolSize, "db-pool-size", postgres.DefaultPoolSize, "PostgreSQL: most connections this server opens")
	fs.DurationVar(&c.DBStatementTimeout, "db-statement-timeout", postgres.DefaultStatementTimeout, "PostgreSQL: limit of one statement (past it the request gets 503)")
	fs.StringVar(&c.JobDir, "job-dir", "auto", "where job directories are made; auto: the system temp dir, or /dev/shm when only that is a tmpfs (faster job starts)")
	fs.BoolVar(&c.SyncAllowLocal, "sync-allow-local", false, "let sync sources name local paths and file:// URLs (single-tenant servers; on with --demo)")
	fs.BoolVar(&c.IdentityAllowLocal, "identity-allow-local", false, "let the authority of a tenant's managed identity (settings/identity) be on a loopback or link-local address")
	allowedHosts := fs.String("sync-allowed-hosts", "", "hosts sync sources may name: names, *.domain, IPs, CIDRs, comma-separated (default any; loopback and link-local only when listed)")
	addIsolationFlags(fs, &c.Isolation)
	fs.StringVar(&c.Directory, "directory", "", "directory of tenants without one of their own: static:PATH, ldap:URL or msgraph (with --demo: the demo directory)")
	addPeopleFlags(fs, &c.People)
	addMetricsFlags(fs, &c.Metrics)
	fs.Int64Var(&c.ModuleMaxSize, "module-max-size", 100<<20, "bytes an uploaded module or wheel may have")
	fs.DurationVar(&c.ModuleCacheAge, "module-cache-age", 24*time.Hour, "how long a module no job used stays in the built-in group's cache (DATA/modules)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return c, err
	}
	if len(rest) > 0 {
		return c, fmt.Errorf("unexpected argument %q", rest[0])
	}
	if _, err := c.Isolation.config(nil); err != nil {
		return c, err
	}
	if c.SyncAllowedHosts, err = gitsync.ParseHosts(*allowedHosts); err != nil {
		return c, fmt.Errorf("--sync-allowed-hosts: %v", err)
	}
	if c.Demo {
		c.SyncAllowLocal = true // the demo is single-tenant: its admin owns the machine's repositories anyway
	}
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "runbooker.db")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.RegisterBurst < 1 {
		return c, fmt.Errorf("--register-burst must be at least 1")
	}
	if c.CloudCapacity < 1 {
		return c, fmt.Errorf("--cloud-capacity must be at least 1")
	}
	if c.DBPoolSize < 1 || c.DBStatementTimeout <= 0 {
		return c, fmt.Errorf("--db-pool-size and --db-statement-timeout must be positive")
	}
	if err := c.People.check(c.Directory); err != nil {
		return c, err
	}
	if err := c.Metrics.check(); err != nil {
		return c, err
	}
	return c, nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// openStore opens the database a --db value names, creating the data dir.
func openStore(ctx context.Context, db, dataDir string) (runbooker.Store, error) {
	return openStoreWith(ctx, db, dataDir, postgres.Config{})
}

// pgPollInterval is the engine's fallback re-check on PostgreSQL, where
// other replicas' changes arrive as bus events: a lost event costs at most
// this much latency.
const pgPollInterval = 5 * time.Second

// openStoreWith is openStore with the PostgreSQL pool settings.
func openStoreWith(ctx context.Context, db, dataDir string, pg postgres.Config) (runbooker.Store, error) {
	switch {
	case strings.HasPrefix(db, "sqlite:"):
		path := strings.TrimPrefix(db, "sqlite:")
		if err := privdir.MkdirAll(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		return sqlite.Open(ctx, path)
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		st, err := postgres.Open(ctx, db, pg)
		if err != nil {
			return nil, fmt.Errorf("--db %s: %w", postgres.RedactURL(db), err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("--db must be sqlite:PATH or postgres://… (got %q)", postgres.RedactURL(db))
}

// Main is a running control plane; end-to-end tests run it in-process.
type Main struct {
	Config ServeConfig
	Log    *slog.Logger
	// Clock is the time of the engine, its maintenance, the HTTP server, the
	// built-in agent and the git sync; nil is the wall clock. Tests set one
	// and move it forward instead of sleeping.
	Clock  runbooker.Clock
	Store  runbooker.Store
	Engine *engine.Engine
	Maint  *engine.Maintenance
	Agent  *agent.Agent
	HTTP   *rbhttp.Server

	Bus         *postgres.Bus    // cross-replica wake-ups; nil on SQLite
	Keyring     *keyring.Keyring // master key: seals sync-source credentials
	Syncer      *gitsync.Syncer  // upstream git sync
	SyncService *gitsync.Service // syncs sources that have an interval
	Metrics     *metrics.Metrics // Prometheus metrics; nil without --metrics
	channel     *agent.Channel   // the built-in group's asset channel
	jobs        sandbox.Interpreters
}

// Run opens the store, makes sure the default tenant exists, and starts the
// maintenance loops, the built-in worker group and the HTTP server.
func (m *Main) Run(ctx context.Context) error {
	c := m.Config
	if m.Log == nil {
		m.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The data directory holds the database, the master key and the
	// tenants' modules and git clones: private to the server's account.
	if c.DataDir != "" {
		if err := privdir.MkdirAll(c.DataDir); err != nil {
			return fmt.Errorf("--data: %w", err)
		}
	}
	st, err := openStoreWith(ctx, c.DB, c.DataDir, postgres.Config{PoolSize: c.DBPoolSize, StatementTimeout: c.DBStatementTimeout})
	if err != nil {
		return err
	}
	m.Store = st
	if err := st.EnsureTenant(ctx, runbooker.DefaultTenant); err != nil {
		return fmt.Errorf("creating the default tenant: %w", err)
	}
	if m.Keyring == nil {
		keyPath := masterKeyPath(c.DataDir, c.MasterKeyFile)
		kr, created, err := keyring.Load(os.Getenv("RUNBOOKER_MASTER_KEY"), keyPath)
		if err != nil {
			return fmt.Errorf("master key: %w", err)
		}
		if created {
			m.Log.Info("generated a new master key; back it up", "path", keyPath)
		}
		m.Keyring = kr
	}
	ecfg := engine.Config{LeaseTTL: c.LeaseTTL, Retention: c.Retention, Now: m.Clock, TenantOutputQuota: c.OutputQuota,
		ModuleMaxBytes: c.ModuleMaxSize}
	pg, scaleOut := st.(*postgres.DB)
	if scaleOut {
		ecfg.PollInterval = pgPollInterval
	}
	m.Engine = engine.New(st, ecfg, m.Log)
	m.setUpMetrics()
	if scaleOut {
		m.Bus = postgres.NewBus(pg, m.Log.With("component", "bus"))
		m.Engine.SetBus(ctx, m.Bus)
	}
	m.Engine.SetKeyring(m.Keyring)
	// Token lifetimes are real time: the issuer keeps the wall clock.
	m.Engine.SetIdentityIssuer(entra.NewIssuer(entra.IssuerConfig{AllowLocal: c.IdentityAllowLocal}))
	// From here on every write goes through the engine's store, so its
	// caches of runbooks and worker groups learn of changes at once.
	m.Store = m.Engine.Store()
	m.Maint = engine.NewMaintenance(m.Engine)
	m.Maint.Start(ctx)
	local := &agent.Local{Engine: m.Engine, Group: runbooker.CloudGroup, WorkerID: "cloud-" + hostname()}
	if m.channel, err = agent.OpenChannel(local, m.Log); err != nil {
		return fmt.Errorf("opening the asset channel: %w", err)
	}
	in, sup, err := setUpJobs(c.JobDir, c.Isolation, m.hiddenFromJobs(), m.Log)
	if err != nil {
		return err
	}
	m.jobs = in
	m.Engine.SetCloudLanguages(in.Languages())
	mods, err := moduleCache(local, filepath.Join(c.DataDir, "modules"), sup, c.ModuleCacheAge, m.Clock, m.Log)
	if err != nil {
		return fmt.Errorf("the module cache: %w", err)
	}
	m.Agent = agent.New(local, agent.Config{
		Capacity: c.CloudCapacity, Prefetch: max(1, c.CloudCapacity/2), MaxRuntime: c.MaxRuntime, OutputCap: c.OutputCap,
		HeartbeatEvery: c.LeaseTTL / 3, Interpreters: in, Stops: m.Engine.Hub(),
		Prepare: agent.Preparer(m.channel, sup), Masks: m.channel.Secrets, Now: m.Clock, Modules: mods,
	}, m.Log.With("group", runbooker.CloudGroup))
	m.Agent.Start(ctx)
	m.Syncer = gitsync.New(m.Store, m.Keyring, gitsync.Config{Dir: filepath.Join(c.DataDir, "git"), Now: m.Clock,
		AllowLocal: c.SyncAllowLocal, AllowedHosts: c.SyncAllowedHosts, Changed: m.auditSync}, m.Log.With("component", "sync"))
	m.SyncService = gitsync.NewService(m.Syncer, 0)
	m.SyncService.Start(ctx)
	m.HTTP = rbhttp.NewServer(m.Engine, rbhttp.Config{RunWait: c.RunWait, Version: version,
		Throttle:            rbhttp.ThrottleConfig{RegisterBurst: float64(c.RegisterBurst)},
		Session:             rbhttp.SessionConfig{Idle: c.People.SessionIdle, Absolute: c.People.SessionMax, SecureCookies: c.People.SecureCookies || c.TLSCert != ""},
		DirectoryAllowLocal: c.People.DirectoryAllowLocal || c.Demo,
	}, m.Log)
	m.HTTP.Syncer = m.Syncer
	m.mountMetrics()
	if err := m.setUpPeople(ctx); err != nil {
		return err
	}
	ui, err := portal.New(m.HTTP.Handler(), m.HTTP.DerivedKey("runbooker portal"), portal.Config{OIDC: oidcName(c.People.OIDCIssuer), Version: version}, m.Log)
	if err != nil {
		return fmt.Errorf("the portal: %w", err)
	}
	m.HTTP.UI = ui.Handler()
	var tlsCfg *tls.Config
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if err := m.HTTP.Open(c.Listen, tlsCfg); err != nil {
		return fmt.Errorf("listening on %s: %w", c.Listen, err)
	}
	return nil
}

// URL is the base URL the server answers on.
func (m *Main) URL() string {
	if m.Config.TLSCert != "" {
		return "https://" + m.HTTP.Addr()
	}
	return "http://" + m.HTTP.Addr()
}

// Close shuts down in order: stop accepting and drain HTTP, stop claiming
// and let running jobs finish up to the drain deadline, stop maintenance,
// close the store.
func (m *Main) Close() error {
	drain := m.Config.Drain
	if drain <= 0 {
		drain = 30 * time.Second
	}
	if m.HTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = m.HTTP.Close(ctx)
		cancel()
	}
	if m.Agent != nil {
		m.Agent.Stop(drain)
	}
	m.jobs.Close()
	if m.SyncService != nil {
		m.SyncService.Stop()
	}
	if m.channel != nil {
		_ = m.channel.Close()
	}
	if m.Maint != nil {
		m.Maint.Stop()
	}
	if m.Bus != nil {
		_ = m.Bus.Close()
	}
	if m.Store != nil {
		return m.Store.Close()
	}
	return nil
}

// hiddenFromJobs lists the server's files no job may see: the data
// directory (database, master key, git mirrors), a master key or SQLite
// database kept elsewhere, and the TLS key.
func (m *Main) hiddenFromJobs() []string {
	c := m.Config
	hide := []string{c.DataDir, masterKeyPath(c.DataDir, c.MasterKeyFile), c.TLSKey}
	if path, ok := strings.CutPrefix(c.DB, "sqlite:"); ok {
		hide = append(hide, filepath.Dir(path)) // with its -wal and -shm files

	}
	return hide
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "local"
	}
	return h
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := serveFlags(args)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.LogLevel)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Log: log}
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return err
	}
	log.Info("runbooker serving", "url", m.URL(), "db", postgres.RedactURL(cfg.DB), "cloud_capacity", cfg.CloudCapacity)
	if err := m.firstStart(ctx, stdout); err != nil {
		_ = m.Close()
		return err
	}
	<-ctx.Done()
	log.Info("shutting down", "drain", cfg.Drain)
	return m.Close()
}

// interpreters resolves the interpreters once and places job directories
// (jobDir "auto": see defaultJobDir).
func interpreters(jobDir string) sandbox.Interpreters {
	in := sandbox.ResolveInterpreters()
	if jobDir == "auto" {
		jobDir = defaultJobDir()
	}
	in.TempRoot = jobDir
	// Job directories of workers that died without cleaning up go now.
	sandbox.SweepJobDirs(jobDir)
	return in
}
