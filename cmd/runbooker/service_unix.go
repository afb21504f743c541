//go:build !windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// unitMarker begins every unit install writes; uninstall removes no other.
const unitMarker = "# Written by `runbooker worker install`"

// unitDir is where install puts the unit, under --root.
const unitDir = "/etc/systemd/system"

// defaultServiceStateDir is systemd's StateDirectory of the unit.
func defaultServiceStateDir(service string) string { return "/var/lib/" + service }

// runService runs the worker in the foreground: systemd, like a terminal,
// stops it with SIGTERM, which cancels ctx.
func runService(ctx context.Context, _ WorkerConfig, stderr io.Writer, run func(context.Context, io.Writer) error) error {
	return run(ctx, stderr)
}

// systemdUnit is the unit of a worker service.
//
// Privileges. To isolate jobs the worker runs as root: it enters a mount
// namespace of its own and builds the jobs' read-only jail in it, creates
// a PID namespace and a cgroup per job, and starts each job as a user id of
// its own (setgroups/setgid/setuid in the child before exec). All of that
// uses the capabilities root already has, or gives rights away;
// NoNewPrivileges=yes takes none of it: it only stops execve from granting
// rights (setuid and setgid bits, file capabilities, SELinux transitions).
// It does pass down to every job, so a setuid program (sudo, su, a ping
// that relies on a file capability) started by a runbook runs without
// raising anything. Jailed jobs are in that state anyway, since the jail
// is mounted nosuid; where a job runs as another user without the jail (a
// kernel without mount_setattr, or --isolation off with a group's RunAs
// user), NoNewPrivileges is what keeps its runbook from climbing back to
// root through sudo. A group whose runbooks truly need sudo must run its
// workers with a drop-in override (NoNewPrivileges=no), knowingly.
//
// File system. ProtectSystem=strict leaves the worker read-only access to
// the system but for its state directory (StateDirectory=, or the
// ReadWritePaths= of another --state-dir), /run/runbooker-uids (where the
// workers of a machine lock the user ids of their jobs: RuntimeDirectory=,
// kept across stops, as other workers may hold ids), an explicit --job-dir, /tmp
// (PrivateTmp=: the default job directories, private to the service and
// emptied when it stops), /dev/shm and the cgroup tree, which must stay
// writable (no ProtectControlGroups=): Delegate=yes gives the worker its
// unit's cgroup to make the per-job groups in. (On cgroup v2 the kernel
// hands controllers down only from a group without processes of its own,
// and the sandbox does not yet move the worker into a leaf below the
// unit's group: there the per-job limits stay off, which the worker logs
// at start, and --isolation strict refuses to start.) ProtectHome=yes hides /home,
// /root and /run/user from the worker and so from every job: jobs have
// their job directory as HOME, and modules they need are installed for all
// users.
//
// Stopping. KillMode=mixed sends SIGTERM to the worker alone, which then
// drains (running jobs may finish for --drain); with the default
// control-group mode systemd would signal the jobs at once too.
// TimeoutStopSec= covers the drain, after which everything left is killed.
func systemdUnit(c installConfig) string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line("%s; `runbooker worker uninstall --service %s` removes it.", unitMarker, c.Service)
	line("[Unit]")
	line("Description=%s", systemdEscape(serviceDescription(c)))
	line("Documentation=https://github.com/runbooker/runbooker#installing-a-worker-as-a-service")
	line("After=network-online.target")
	line("Wants=network-online.target")
	line("")
	line("[Service]")
	line("Type=exec")
	args := make([]string, 0, len(c.Args)+1)
	for _, a := range append([]string{c.Binary}, c.Args...) {
		args = append(args, systemdQuote(a))
	}
	line("ExecStart=%s", strings.Join(args, " "))
	line("Restart=on-failure")
	line("RestartSec=10s")
	line("KillSignal=SIGTERM")
	line("KillMode=mixed")
	line("TimeoutStopSec=%d", int(stopTimeout(c.Worker.Drain).Seconds()))
	line("UMask=0077")
	line("StateDirectory=%s", c.Service)
	line("StateDirectoryMode=0700")
	line("# Every worker on the machine locks its jobs' user ids here (shared, kept).")
	line("RuntimeDirectory=runbooker-uids")
	line("RuntimeDirectoryMode=0700")
	line("RuntimeDirectoryPreserve=yes")
	line("ProtectSystem=strict")
	if rw := readWritePaths(c); len(rw) > 0 {
		for i := range rw {
			rw[i] = systemdQuote(rw[i])
		}
		line("ReadWritePaths=%s", strings.Join(rw, " "))
	}
	line("ProtectHome=yes")
	line("PrivateTmp=yes")
	line("# Jobs start as other users through setuid calls, which this does not")
	line("# touch; it keeps setuid programs in jobs from raising their rights.")
	line("NoNewPrivileges=yes")
	line("# The per-job cgroups are made under the unit's own.")
	line("Delegate=yes")
	line("")
	line("[Install]")
	line("WantedBy=multi-user.target")
	return b.String()
}

// readWritePaths are the places besides the StateDirectory the worker
// writes to.
func readWritePaths(c installConfig) []string {
	var rw []string
	if c.Worker.StateDir != defaultServiceStateDir(c.Service) {
		rw = append(rw, c.Worker.StateDir)
	}
	if j := c.Worker.JobDir; j != "" && j != "auto" && !within(j, "/tmp") && !within(j, "/dev/shm") {
		rw = append(rw, j)
	}
	return rw
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// systemdEscape keeps systemd from expanding specifiers (%) in a value.
func systemdEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// systemdQuote quotes one word of a command line (systemd.service(5),
// "Command lines"): specifiers and variables are not expanded.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(systemdEscape(s), "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func installService(ctx context.Context, c installConfig, stdout, stderr io.Writer) error {
	if c.Root == "" && runtime.GOOS != "linux" {
		return fmt.Errorf("worker install writes a systemd unit, which needs Linux (or --root DIR to write one for another machine)")
	}
	if c.Account != "" {
		return errors.New("--account is for Windows services; a systemd unit's worker runs as root, which job isolation needs")
	}
	for _, p := range []string{c.Binary, c.Worker.StateDir, c.TokenFile, c.Worker.CA, c.Worker.JobDir} {
		for _, h := range []string{"/home", "/root", "/run/user"} {
			if within(p, h) {
				return fmt.Errorf("%s is under %s, which the service cannot see (ProtectHome=yes): choose a place such as /usr/local/bin, /etc/runbooker or /var/lib", p, h)
			}
		}
	}
	for _, p := range []string{c.Binary, c.Worker.StateDir, c.TokenFile, c.Worker.CA} {
		for _, d := range []string{"/tmp", "/var/tmp"} {
			if within(p, d) {
				return fmt.Errorf("%s is under %s, which the service sees empty (PrivateTmp=yes): install the binary and files in lasting places, such as /usr/local/bin and /etc/runbooker", p, d)
			}
		}
	}
	for _, a := range c.Args {
		if strings.ContainsAny(a, "\n\r") {
			return fmt.Errorf("%q: a line break cannot be part of a service's command line", a)
		}
	}
	if c.TokenFile != "" {
		if st, err := os.Stat(filepath.Join(c.Root, c.TokenFile)); err == nil && st.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(stderr, "warning: %s may be read by others (mode %o): chmod 600 it\n", c.TokenFile, st.Mode().Perm())
		}
	}
	for _, d := range readWritePaths(c) {
		// ProtectSystem=strict cannot make a missing path writable.
		if err := os.MkdirAll(filepath.Join(c.Root, d), 0o700); err != nil {
			return err
		}
	}
	unit := filepath.Join(c.Root, unitDir, c.Service+".service")
	_, err := os.Stat(unit)
	existed := err == nil
	if existed {
		if err := checkOurUnit(unit); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
		return err
	}
	tmp := unit + ".tmp"
	if err := os.WriteFile(tmp, []byte(systemdUnit(c)), 0o644); err != nil {
		return fmt.Errorf("writing the unit (as root?): %w", err)
	}
	if err := os.Rename(tmp, unit); err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", unit)
	if c.Root != "" {
		fmt.Fprintf(stdout, "enable it in that root with: systemctl --root %s enable %s\n", c.Root, c.Service)
		return nil
	}
	steps := [][]string{{"daemon-reload"}, {"enable", "--now", c.Service}}
	switch {
	case c.NoStart:
		steps[1] = []string{"enable", c.Service}
	case existed:
		steps = append(steps[:1], []string{"enable", c.Service}, []string{"restart", c.Service})
	}
	for _, s := range steps {
		if err := systemctl(ctx, stdout, s...); err != nil {
			return err
		}
	}
	switch {
	case c.NoStart && existed:
		fmt.Fprintf(stdout, "%s is enabled; a running worker keeps its old settings until: systemctl restart %s\n", c.Service, c.Service)
	case c.NoStart:
		fmt.Fprintf(stdout, "%s is enabled and starts at boot, or now with: systemctl start %s\n", c.Service, c.Service)
	default:
		fmt.Fprintf(stdout, "%s is running; its log: journalctl -u %s\n", c.Service, c.Service)
	}
	return nil
}

func uninstallService(ctx context.Context, c installConfig, stdout io.Writer) error {
	unit := filepath.Join(c.Root, unitDir, c.Service+".service")
	if err := checkOurUnit(unit); err != nil {
		return err
	}
	if c.Root == "" {
		// Stopping drains: it may take as long as the worker's --drain.
		fmt.Fprintf(stdout, "stopping %s (running jobs may finish first)\n", c.Service)
		if err := systemctl(ctx, stdout, "disable", "--now", c.Service); err != nil {
			return err
		}
	}
	_ = os.Remove(filepath.Join(c.Root, unitDir, "multi-user.target.wants", c.Service+".service"))
	if err := os.Remove(unit); err != nil {
		return err
	}
	if c.Root == "" {
		if err := systemctl(ctx, stdout, "daemon-reload"); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "removed %s; the worker's state directory (its credential) is kept\n", unit)
	return nil
}

// checkOurUnit refuses a unit file install did not write.
func checkOurUnit(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("there is no %s", path)
	}
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(b), unitMarker) {
		return fmt.Errorf("%s was not written by runbooker worker install; change or remove it by hand", path)
	}
	return nil
}

func systemctl(ctx context.Context, out io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("systemctl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}
