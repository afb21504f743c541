package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/password"
)

// Password length limits of local accounts: at least minPassword
// characters; at most maxPassword bytes, so a pasted file is refused
// rather than hashed.
const (
	minPassword = 8
	maxPassword = 1024
)

const userUsage = `usage: runbooker user create UPN [--display-name N] --password-stdin | list | delete UPN |
       passwd UPN --password-stdin | disable UPN | enable UPN   [--tenant T] [--data DIR] [--db URL]`

// offlineFlags are the flags of the commands that work on the database
// directly, without a running server.
type offlineFlags struct {
	tenant, dataDir, db *string
}

func addOfflineFlags(fs *flag.FlagSet) offlineFlags {
	return offlineFlags{
		tenant:  fs.String("tenant", runbooker.DefaultTenant, "tenant"),
		dataDir: fs.String("data", defaultDir("data"), "data directory"),
		db:      fs.String("db", "", "database (default sqlite:DATA/runbooker.db)"),
	}
}

func (o offlineFlags) open(ctx context.Context) (runbooker.Store, error) {
	db := *o.db
	if db == "" {
		db = "sqlite:" + filepath.Join(*o.dataDir, "runbooker.db")
	}
	return openStore(ctx, db, *o.dataDir)
}

// cmdUser manages local sign-in accounts offline, on the database itself,
// so the first person can be let in before anything listens. Deleting or
// disabling a user, and changing their password, also ends their sessions.
func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	verb := args[0]
	fs := newFlagSet("user " + verb)
	off := addOfflineFlags(fs)
	display := fs.String("display-name", "", "create: the name the portal shows")
	fromStdin := fs.Bool("password-stdin", false, "create, passwd: read the password from the first line of standard input")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	wantArgs := 1
	if verb == "list" {
		wantArgs = 0
	}
	switch verb {
	case "create", "list", "delete", "passwd", "disable", "enable":
	default:
		return errors.New(userUsage)
	}
	if len(rest) != wantArgs {
		return errors.New(userUsage)
	}
	var pw string
	if verb == "create" || verb == "passwd" {
		if !*fromStdin {
			return errors.New("--password-stdin is required: the password is read from standard input, never from the command line")
		}
		if pw, err = readPassword(stdin); err != nil {
			return err
		}
	}
	st, err := off.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tenant := *off.tenant
	if verb == "list" {
		return listUsers(ctx, st, tenant, stdout)
	}
	upn := strings.TrimSpace(rest[0])
	if verb == "create" {
		return createUser(ctx, st, tenant, upn, *display, pw, stdout)
	}
	u, err := st.User(ctx, tenant, upn)
	if err != nil {
		return err
	}
	var what string
	switch verb {
	case "delete":
		if err := st.DeleteUser(ctx, tenant, u.UPN); err != nil {
			return err
		}
		what = "deleted"
	case "passwd":
		if u.PasswordHash, err = password.Hash(pw); err != nil {
			return err
		}
		what = "changed the password of"
	case "disable", "enable":
		u.Disabled = verb == "disable"
		what = verb + "d"
	}
	if verb != "delete" {
		u.UpdatedAt = time.Time{}
		if err := st.UpdateUser(ctx, u); err != nil {
			return err
		}
	}
	signedOut := 0
	if verb != "enable" {
		if signedOut, err = st.DeleteUserSessions(ctx, tenant, u.UPN); err != nil {
			return err
		}
	}
	if err := auditCLI(ctx, st, tenant, "user."+verb, u.UPN, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s user %q in tenant %q", what, u.UPN, tenant)
	if verb != "enable" {
		fmt.Fprintf(stdout, "; %d sessions ended", signedOut)
	}
	fmt.Fprintln(stdout)
	return nil
}

func createUser(ctx context.Context, st runbooker.Store, tenant, upn, display, pw string, stdout io.Writer) error {
	if upn == "" || strings.ContainsAny(upn, " \t\r\n") {
		return fmt.Errorf("UPN %q: a UPN is one word, such as ada@example.com", upn)
	}
	if err := st.EnsureTenant(ctx, tenant); err != nil {
		return err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	u := &runbooker.User{TenantID: tenant, UPN: upn, DisplayName: display, PasswordHash: hash}
	if err := st.CreateUser(ctx, u); err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]string{"displayName": display})
	if err := auditCLI(ctx, st, tenant, "user.create", u.UPN, detail); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %q in tenant %q\n", u.UPN, tenant)
	return nil
}

func listUsers(ctx context.Context, st runbooker.Store, tenant string, stdout io.Writer) error {
	us, err := st.ListUsers(ctx, tenant)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UPN\tDISPLAY NAME\tSTATE\tCREATED")
	for _, u := range us {
		state := "enabled"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.UPN, u.DisplayName, state, u.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// readPassword reads the first line of r (without its line ending) and
// checks it is a password worth storing.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("--password-stdin: standard input is empty")
	}
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPassword+2), maxPassword+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--password-stdin: reading standard input: %w", err)
	}
	if errors.Is(err, io.EOF) && len(line) > maxPassword {
		return "", fmt.Errorf("--password-stdin: the password is longer than %d bytes", maxPassword)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case pw == "":
		return "", errors.New("--password-stdin: the password is empty (standard input had no first line)")
	case len(pw) > maxPassword:
		return "", fmt.Errorf("--password-stdin: the password is longer than %d bytes", maxPassword)
	case !utf8.ValidString(pw):
		return "", errors.New("--password-stdin: the password is not UTF-8 text")
	case utf8.RuneCountInString(pw) < minPassword:
		return "", fmt.Errorf("--password-stdin: the password is shorter than %d characters", minPassword)
	}
	return pw, nil
}

// auditCLI records a change made offline through the CLI in the tenant's
// audit log. The actor is whoever ran the command on the server's machine.
func auditCLI(ctx context.Context, st runbooker.Store, tenant, action, object string, detail json.RawMessage) error {
	actor := "local administrator"
	if u, err := user.Current(); err == nil {
		actor += " (" + u.Username + ")"
	}
	err := st.AppendAudit(ctx, &runbooker.AuditEntry{TenantID: tenant, Actor: actor, ActorKind: runbooker.ActorSystem,
		Surface: "cli", Action: action, Object: object, Detail: detail, Source: "local"})
	if err != nil {
		return fmt.Errorf("%s %s was done, but recording it in the audit log failed: %w", action, object, err)
	}
	return nil
}
