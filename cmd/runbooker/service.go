package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// installConfig is what `runbooker worker install` sets up: a worker
// configuration for the service to run, and where and how to install it.
type installConfig struct {
	Worker    WorkerConfig
	TokenFile string   // absolute, as the service sees it; "" when already registered
	Args      []string // the service's command line after the binary
	Service   string   // systemd unit (without .service) or Windows service name
	Binary    string   // absolute path of the runbooker binary the service runs
	Root      string   // Linux: write into this root instead of / and run no systemctl
	NoStart   bool
	// Account is the Windows account the service runs as ("" for
	// LocalSystem), resolved by serviceAccount; PasswordFile holds the
	// password of an account that needs one.
	Account      string
	PasswordFile string
}

// serviceNameRE keeps a service name usable as a unit name, a StateDirectory
// and a Windows service name alike.
var serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// installOnly are the flags of install and uninstall that the service's
// own command line does not get.
var installOnly = map[string]bool{"service": true, "binary": true, "root": true, "no-start": true,
	"account": true, "account-password-file": true}

func addServiceFlags(fs *flag.FlagSet, c *installConfig) {
	fs.StringVar(&c.Service, "service", "runbooker-worker", "name of the systemd unit or Windows service")
	fs.StringVar(&c.Root, "root", "", "Linux: write the unit under this directory instead of / and run no systemctl (packaging, tests)")
}

// cmdWorkerService is `runbooker worker install|uninstall`.
func cmdWorkerService(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	if verb == "uninstall" {
		var c installConfig
		fs := newFlagSet("worker uninstall")
		addServiceFlags(fs, &c)
		rest, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(rest) > 0 {
			return fmt.Errorf("unexpected argument %q", rest[0])
		}
		if !serviceNameRE.MatchString(c.Service) {
			return fmt.Errorf("--service %q: use letters, digits, '.', '_' and '-'", c.Service)
		}
		return uninstallService(ctx, c, stdout)
	}
	c, err := installFlags(args)
	if err != nil {
		return err
	}
	return installService(ctx, c, stdout, stderr)
}

// installFlags parses the worker's own flags, validated as `runbooker
// worker` validates them, and install's. The paths become absolute (a
// service does not start in the caller's directory), and the token stays
// in its file: a service's command line is visible to every user.
func installFlags(args []string) (installConfig, error) {
	var c installConfig
	fs, tokenFile := workerFlagSet("worker install", &c.Worker)
	addServiceFlags(fs, &c)
	fs.StringVar(&c.Binary, "binary", "", "the runbooker binary the service runs (default: this one)")
	fs.BoolVar(&c.NoStart, "no-start", false, "install and enable the service, but do not start it now")
	fs.StringVar(&c.Account, "account", "", `Windows: the account the service runs as instead of LocalSystem: virtual (NT SERVICE\SERVICE, no password), `+
		`NT AUTHORITY\LocalService, or DOMAIN\user with --account-password-file`)
	fs.StringVar(&c.PasswordFile, "account-password-file", "", "Windows: file holding the password of --account")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return c, err
	}
	if len(rest) > 0 {
		return c, fmt.Errorf("unexpected argument %q", rest[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["token"] {
		return c, errors.New("install takes the registration token from --token-file only: --token and RUNBOOKER_TOKEN would put it on the service's command line, which every user of the machine can read")
	}
	if !serviceNameRE.MatchString(c.Service) {
		return c, fmt.Errorf("--service %q: use letters, digits, '.', '_' and '-'", c.Service)
	}
	if c.Root != "" {
		if c.Root, err = filepath.Abs(c.Root); err != nil {
			return c, err
		}
	}
	if !set["state-dir"] {
		c.Worker.StateDir = defaultServiceStateDir(c.Service)
	}
	needsPassword := false
	if c.Account, needsPassword, err = serviceAccount(c.Account, c.Service); err != nil {
		return c, err
	}
	if needsPassword != (c.PasswordFile != "") {
		if needsPassword {
			return c, fmt.Errorf("--account %s needs its password: give --account-password-file", c.Account)
		}
		return c, fmt.Errorf("--account-password-file: the account %s has no password to give", orDefault(c.Account, "LocalSystem"))
	}
	w := &c.Worker
	for _, p := range []*string{&w.StateDir, tokenFile, &w.CA, &w.JobDir, &w.HostScript} {
		if *p != "" && !(p == &w.JobDir && *p == "auto") {
			if *p, err = filepath.Abs(*p); err != nil {
				return c, err
			}
		}
	}
	if err := w.check(*tokenFile, c.Root); err != nil {
		return c, err
	}
	w.Token = "" // read to check it, never kept
	if w.CA != "" {
		if _, err := tlsConfig(filepath.Join(c.Root, w.CA)); err != nil {
			return c, err
		}
	}
	c.TokenFile = *tokenFile
	if c.TokenFile == "" {
		if _, err := os.Stat(filepath.Join(c.Root, w.StateDir, "worker.json")); err != nil {
			return c, fmt.Errorf("--token-file is required: the worker registers with the token on its first start (no credential in %s yet)", w.StateDir)
		}
	}
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("finding this binary (give --binary): %w", err)
		}
		if c.Binary, err = filepath.EvalSymlinks(exe); err != nil {
			return c, err
		}
	}
	if c.Binary, err = filepath.Abs(c.Binary); err != nil {
		return c, err
	}
	// The command line: every worker flag that was set (on the command
	// line or through RUNBOOKER_*: the service has no such environment),
	// the paths made absolute, the token as its file only.
	c.Args = []string{"worker"}
	fs.Visit(func(f *flag.Flag) {
		if installOnly[f.Name] || f.Name == "state-dir" || f.Name == "token-file" {
			return
		}
		c.Args = append(c.Args, "--"+f.Name+"="+f.Value.String())
	})
	c.Args = append(c.Args, "--state-dir="+w.StateDir)
	if c.TokenFile != "" {
		c.Args = append(c.Args, "--token-file="+c.TokenFile)
	}
	return c, nil
}

// stopTimeout is how long the service manager waits for a stopping worker
// before it kills it: the drain, then the jobs' kill grace, the last
// deliveries (10 s) and the state reports (5 s each), with room to spare.
func stopTimeout(drain time.Duration) time.Duration {
	return drain + time.Minute
}

// serviceDescription names the worker's group for the service manager's
// listing.
func serviceDescription(c installConfig) string {
	group := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, c.Worker.Group)
	if group == "" {
		return "Runbooker hybrid worker"
	}
	return "Runbooker hybrid worker (group " + group + ")"
}

// serviceAccount resolves install's --account: "" (or LocalSystem) is
// LocalSystem, which the service manager names with ""; "virtual" is the
// service's own virtual account NT SERVICE\<service>, which like the local
// and network service accounts and group managed service accounts (ending
// in $) has no password; any other account needs one.
func serviceAccount(account, service string) (name string, needsPassword bool, err error) {
	switch strings.ToLower(account) {
	case "", "localsystem", `nt authority\system`:
		return "", false, nil
	case "virtual":
		return `NT SERVICE\` + service, false, nil
	case `nt authority\localservice`, `nt authority\local service`, `nt authority\networkservice`, `nt authority\network service`:
		return account, false, nil
	}
	if strings.ContainsAny(account, `"/[]:;|=,+*?<>`) || strings.Count(account, `\`) > 1 || strings.HasPrefix(account, `\`) {
		return "", false, fmt.Errorf(`--account %q: give DOMAIN\user, .\user for a local account, user@domain, or virtual`, account)
	}
	if !strings.Contains(account, `\`) && !strings.Contains(account, "@") {
		account = `.\` + account // a local account
	}
	return account, !strings.HasSuffix(account, "$"), nil
}
