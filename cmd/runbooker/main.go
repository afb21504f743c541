// Command runbooker is Runbooker's single binary: the control plane
// (serve), the hybrid worker (worker) and the client commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/runbooker/runbooker/sandbox"
)

const usage = `runbooker — self-hosted runbook automation

Server:
  runbooker serve [--listen ADDR] [--data DIR] [--db sqlite:PATH] [--demo]
  runbooker credential create --name N [--role admin|operator] [--user UPN] [--tenant T] [--data DIR]
  runbooker user create UPN [--display-name N] --password-stdin [--tenant T] [--data DIR] [--db URL]
  runbooker user list | delete UPN | passwd UPN --password-stdin | disable UPN | enable UPN
  runbooker audit verify [--tenant T | --all] [--data DIR] [--db URL]   (exit 1 when a chain is broken)
  runbooker audit export [--tenant T] [--since TIME|24h] [--action PREFIX]   (JSON lines)

Hybrid worker:
  runbooker worker --server URL --group NAME --token-file FILE [--name N] [--state-dir DIR] [--capacity N] [--ca PEM]
                   (or RUNBOOKER_TOKEN; --token TOKEN shows the token in ps)
  runbooker worker install [worker flags] [--service NAME] [--no-start] [--root DIR]   (systemd unit / Windows service)
  runbooker worker uninstall [--service NAME]
  runbooker worker host-script PATH   (the PowerShell host, to install and sign for --host-script)
  runbooker group create NAME [--data DIR] [--default-hybrid] [--run-as USER]   (offline; prints the token)
                   [--token-expires 24h|TIME] [--token-max-uses N]   (also on group rotate-token NAME)
  runbooker rotate-key [--data DIR]

Client (RUNBOOKER_SERVER, RUNBOOKER_CREDENTIAL=ID:SECRET):
  runbooker version                        this binary's version (and the server's)
  runbooker run NAME [-p Key=Value]... [--run-on GROUP]
  runbooker start NAME [-p Key=Value]... [--run-on GROUP]
  runbooker start --batch FILE|- [--run-on GROUP]   one JSON job a line; prints the job ids
  runbooker job status|output|streams|exception|stop|resume|tail ID
  runbooker job list [--status S] [--runbook NAME]
  runbooker runbook import DIR [--prefix P]
  runbooker runbook list|get|delete [NAME]
  runbooker group list|create|rotate-token|delete [NAME]
  runbooker asset list | set TYPE NAME JSON [--encrypted] | get TYPE NAME | delete TYPE NAME
  runbooker module upload FILE | list | get|delete ps|py NAME VERSION   PowerShell modules, Python wheels
  runbooker webhook create NAME --runbook RB [-p K=V]... [--expires D|TIME] | list | get|enable|disable|delete ID
  runbooker schedule list | get | set | delete | link | unlink | defaults   schedules and the runbooks linked to them
  runbooker whoami                         who the credential is, and its rights
  runbooker targets user|device|group ID   runbooks you may run on that object
  runbooker settings get KEY | set KEY FILE|-   customization, permissions, roles, directory
  runbooker sync [--source ID]            sync runbooks from upstream git repositories
  runbooker sync sources | sync source get|set|delete ID [...]

Measure:
  runbooker bench [--json] [--jobs N]

Every flag can also be set through an environment variable RUNBOOKER_<FLAG>
(upper case, '-' as '_'), e.g. RUNBOOKER_LISTEN=0.0.0.0:8080.
`

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "serve" || os.Args[1] == "worker" || os.Args[1] == "bench") {
		// As root, the rest runs in a mount namespace of its own, where jobs
		// are jailed (see sandbox.EnterMountNamespace).
		sandbox.EnterMountNamespace()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(code)
}

// exitError carries a process exit code through error returns.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "version", "--version":
		err = cmdVersion(ctx, stdout, stderr)
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "credential":
		err = cmdCredential(ctx, args[1:], stdout)
	case "user":
		err = cmdUser(ctx, args[1:], stdin, stdout)
	case "audit":
		err = cmdAudit(ctx, args[1:], stdout)
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "start":
		err = cmdStart(ctx, args[1:], stdin, stdout)
	case "job":
		err = cmdJob(ctx, args[1:], stdout, stderr)
	case "runbook":
		err = cmdRunbook(ctx, args[1:], stdout, stderr)
	case "sync":
		err = cmdSync(ctx, args[1:], stdout, stderr)
	case "worker":
		err = cmdWorker(ctx, args[1:], stdout, stderr)
	case "group":
		err = cmdGroup(ctx, args[1:], stdout, stderr)
	case "asset":
		err = cmdAsset(ctx, args[1:], stdout, stderr)
	case "module":
		err = cmdModule(ctx, args[1:], stdout)
	case "webhook":
		err = cmdWebhook(ctx, args[1:], stdout)
	case "schedule":
		err = cmdSchedule(ctx, args[1:], stdout)
	case "settings":
		err = cmdSettings(ctx, args[1:], stdin, stdout)
	case "whoami":
		err = cmdWhoami(ctx, args[1:], stdout)
	case "targets":
		err = cmdTargets(ctx, args[1:], stdout)
	case "rotate-key":
		err = cmdRotateKey(ctx, args[1:], stdout)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "runbooker: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(stderr, "runbooker %s: %s\n", args[0], errText(err))
		return 1
	}
}
