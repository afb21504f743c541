package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/runbooker/runbooker/gitsync"
	rbhttp "github.com/runbooker/runbooker/http"
)

const syncUsage = `usage:
  runbooker sync [--source ID] [--adopt] [--json]
  runbooker sync sources
  runbooker sync source get ID
  runbooker sync source set ID --url URL [--branch B] [--subfolder DIR] [--prefix P] [--interval 1h]
        [--username U] [--password-file F | --token-file F] [--ssh-key-file F [--passphrase-file F]]
        [--known-hosts-file F] [--ca-file F] [--clear-credentials]
  runbooker sync source delete ID [--keep-runbooks]`

// cmdSync syncs upstream sources through the API and manages them.
func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "sources" {
		return syncSources(ctx, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "source" {
		return syncSourceCmd(ctx, args[1:], stdout)
	}
	fs := newFlagSet("sync")
	client := clientFlags(fs)
	source := fs.String("source", "", "sync only this source (default: every source)")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	adopt := fs.Bool("adopt", false, "take over same-named runbooks that no source owns (uploaded or imported ones)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%s", syncUsage)
	}
	c, err := client()
	if err != nil {
		return err
	}
	stop := spinner(stderr, "syncing")
	reps, err := c.SyncWith(ctx, rbhttp.SyncRequest{Source: *source, Adopt: *adopt})
	stop()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reps); err != nil {
			return err
		}
	} else if len(reps) == 0 {
		fmt.Fprintln(stdout, "no sync sources; add one with `runbooker sync source set ID --url URL`")
	}
	failed := 0
	for _, r := range reps {
		if !*asJSON {
			printSyncReport(stdout, r)
		}
		if r.Error != "" {
			fmt.Fprintf(stderr, "sync source %s failed: %s\n", r.Source, r.Error)
			failed++
		} else if n := len(r.Errors); n > 0 {
			// Problems with single files: the sync ran, but not everything
			// the repository holds is what the runbooks now are.
			fmt.Fprintf(stderr, "sync source %s reported %d problem(s)\n", r.Source, n)
			failed++
		}
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

// printSyncReport shows a report as a summary line and one line per change.
func printSyncReport(w io.Writer, r *gitsync.Report) {
	if r.Error != "" {
		fmt.Fprintf(w, "%s: failed\n", r.Source)
		return
	}
	errs := ""
	if n := len(r.Errors); n > 0 {
		errs = fmt.Sprintf(", %d problem(s)", n)
	}
	adopted := ""
	if n := len(r.Adopted); n > 0 {
		adopted = fmt.Sprintf(", %d adopted", n)
	}
	fmt.Fprintf(w, "%s: %s@%.12s: %d added, %d updated%s, %d removed, %d unchanged%s (%s)\n",
		r.Source, r.Branch, r.Commit, len(r.Added), len(r.Updated), adopted, len(r.Removed), r.Unchanged, errs,
		(time.Duration(r.DurationMS) * time.Millisecond).String())
	for _, n := range r.Added {
		fmt.Fprintf(w, "  + %s\n", n)
	}
	for _, n := range r.Updated {
		fmt.Fprintf(w, "  ~ %s\n", n)
	}
	for _, n := range r.Adopted {
		fmt.Fprintf(w, "  > %s (adopted)\n", n)
	}
	for _, n := range r.Removed {
		fmt.Fprintf(w, "  - %s\n", n)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  ! %s: %s\n", e.Path, e.Message)
	}
}

func syncSources(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("sync sources")
	client := clientFlags(fs)
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%s", syncUsage)
	}
	c, err := client()
	if err != nil {
		return err
	}
	srcs, err := c.SyncSources(ctx)
	if err != nil {
		return err
	}
	for _, s := range srcs {
		last := "never synced"
		if l := s.LastSync; l != nil && l.Error != "" {
			last = "failed " + l.At.Local().Format(time.DateTime) + ": " + l.Error
		} else if l != nil {
			last = fmt.Sprintf("synced %s at %.12s", l.At.Local().Format(time.DateTime), l.Commit)
		}
		branch := s.Branch
		if branch == "" {
			branch = "(default)"
		}
		fmt.Fprintf(stdout, "%-16s %-8s %s %s prefix=%s  %s\n", s.ID, s.Kind, s.URL, branch, s.Prefix, last)
	}
	return nil
}

func syncSourceCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", syncUsage)
	}
	verb := args[0]
	fs := newFlagSet("sync source " + verb)
	client := clientFlags(fs)
	var in gitsync.SourceInput
	var interval, passwordFile, tokenFile, keyFile, passphraseFile, knownHostsFile, caFile, username string
	fs.StringVar(&in.URL, "url", "", "set: repository URL (https://, ssh://, user@host:path, file:// or an absolute path)")
	fs.StringVar(&in.Branch, "branch", "", "set: branch (default: the repository's default branch)")
	fs.StringVar(&in.Subfolder, "subfolder", "", "set: folder holding <scope>/<category>/<name>.<ext>")
	fs.StringVar(&in.Prefix, "prefix", "", "set: runbook name prefix (default rjgit-)")
	fs.StringVar(&interval, "interval", "", "set: sync on its own this often, e.g. 1h (default: on request only)")
	fs.StringVar(&username, "username", "", "set: https user name")
	fs.StringVar(&passwordFile, "password-file", "", "set: file holding the https password")
	fs.StringVar(&tokenFile, "token-file", "", "set: file holding an https access token")
	fs.StringVar(&keyFile, "ssh-key-file", "", "set: file holding the ssh private key")
	fs.StringVar(&passphraseFile, "passphrase-file", "", "set: file holding the ssh key's passphrase")
	fs.StringVar(&knownHostsFile, "known-hosts-file", "", "set: known_hosts lines pinning the ssh server's key")
	fs.StringVar(&caFile, "ca-file", "", "set: PEM certificates to trust for an https server with a private CA")
	clearCreds := fs.Bool("clear-credentials", false, "set: remove stored credentials")
	keep := fs.Bool("keep-runbooks", false, "delete: keep the runbooks the source synced")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("%s", syncUsage)
	}
	c, err := client()
	if err != nil {
		return err
	}
	id := rest[0]
	switch verb {
	case "get":
		v, err := c.SyncSource(ctx, id)
		if err != nil {
			return err
		}
		return printSyncJSON(stdout, v)
	case "delete":
		removed, err := c.DeleteSyncSource(ctx, id, *keep)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted sync source %s; removed %d runbooks\n", id, len(removed))
		return nil
	case "set":
	default:
		return fmt.Errorf("%s", syncUsage)
	}
	in.ID, in.ClearCredentials = id, *clearCreds
	if interval != "" {
		d, err := time.ParseDuration(interval)
		if err != nil {
			return fmt.Errorf("--interval: %v", err)
		}
		in.Interval = gitsync.Duration(d)
	}
	var creds gitsync.Credentials
	creds.Username = username
	for _, f := range []struct {
		path string
		dst  *string
	}{{passwordFile, &creds.Password}, {tokenFile, &creds.Token}, {keyFile, &creds.SSHKey}, {passphraseFile, &creds.Passphrase}, {knownHostsFile, &in.KnownHosts}, {caFile, &in.CABundle}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		*f.dst = strings.TrimRight(string(b), "\r\n")
		if f.dst == &creds.SSHKey || f.dst == &in.KnownHosts || f.dst == &in.CABundle {
			*f.dst += "\n"
		}
	}
	if creds != (gitsync.Credentials{}) {
		in.Credentials = &creds
	}
	v, err := c.PutSyncSource(ctx, in)
	if err != nil {
		return err
	}
	return printSyncJSON(stdout, v)
}

func printSyncJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
