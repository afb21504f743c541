package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/directory"
	"github.com/runbooker/runbooker/password"
)

// cmdSettings reads and writes a tenant's settings documents through the
// API: customization, permissions, roles, directory, identity.
func cmdSettings(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	const use = "usage: runbooker settings get KEY | settings set KEY FILE|-   (KEY: customization, permissions, roles, directory, identity)"
	verb, rest, c, err := subcommand("settings", use, args, nil)
	if err != nil {
		return err
	}
	switch {
	case verb == "get" && len(rest) == 1:
		doc, err := c.Setting(ctx, rest[0])
		if err != nil {
			return err
		}
		if len(doc) > 0 && doc[len(doc)-1] != '\n' {
			doc = append(doc, '\n')
		}
		_, err = stdout.Write(doc)
		return err
	case verb == "set" && len(rest) == 2:
		var doc []byte
		if rest[1] == "-" {
			doc, err = io.ReadAll(io.LimitReader(stdin, 4<<20))
		} else {
			doc, err = os.ReadFile(rest[1])
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", rest[1], err)
		}
		if err := c.PutSetting(ctx, rest[0], doc); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "stored the %s document (%d bytes); it applies to the next request\n", rest[0], len(doc))
		return nil
	}
	return fmt.Errorf(use)
}

// cmdWhoami prints who the client's credential is and what it may do.
func cmdWhoami(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("whoami")
	client := clientFlags(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	me, err := c.Me(ctx)
	if err != nil {
		return err
	}
	rights := make([]string, len(me.Rights))
	for i, r := range me.Rights {
		rights[i] = string(r)
	}
	fmt.Fprintf(stdout, "%s (%s) in tenant %q\nrights: %s\n", me.Name, me.Kind, me.Tenant, strings.Join(rights, ", "))
	if len(me.Groups) > 0 {
		fmt.Fprintf(stdout, "groups: %s\n", strings.Join(me.Groups, ", "))
	}
	return nil
}

// cmdTargets lists what the caller may run on a user, device or group.
func cmdTargets(ctx context.Context, args []string, stdout io.Writer) error {
	const use = "usage: runbooker targets user|device|group ID   (ID: an id, a UPN, or a group's or device's name)"
	fs := newFlagSet("targets")
	client := clientFlags(fs)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 || !directory.Kind(rest[0]).Valid() {
		return fmt.Errorf(use)
	}
	c, err := client()
	if err != nil {
		return err
	}
	tr, err := c.TargetRunbooks(ctx, directory.Kind(rest[0]), rest[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s (%s): %d runbooks you may run\n", tr.Target.Kind, tr.Target.Name, tr.Target.ID, len(tr.Runbooks))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, rb := range tr.Runbooks {
		fmt.Fprintf(tw, "  %s\t%s\n", rb.Name, rb.DisplayName)
	}
	return tw.Flush()
}

// setLocalPassword gives a local user a password, creating the user when
// there is none; the user's sessions end.
func setLocalPassword(ctx context.Context, st runbooker.Store, tenant, upn, pw string) error {
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	u, err := st.User(ctx, tenant, upn)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		return st.CreateUser(ctx, &runbooker.User{TenantID: tenant, ID: runbooker.NewID(), UPN: upn, PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
	} else if err != nil {
		return err
	}
	u.PasswordHash, u.Disabled, u.UpdatedAt = hash, false, now
	if err := st.UpdateUser(ctx, u); err != nil {
		return err
	}
	_, err = st.DeleteUserSessions(ctx, tenant, upn)
	return err
}
