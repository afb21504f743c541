package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/bashparse"
	"github.com/runbooker/runbooker/demo"
	rbhttp "github.com/runbooker/runbooker/http"
)

// firstStart prints what a newcomer needs: on a fresh install an initial
// admin credential, and with --demo the demo runbooks plus commands to paste.
func (m *Main) firstStart(ctx context.Context, stdout io.Writer) error {
	creds, err := m.Store.ListCredentials(ctx, runbooker.DefaultTenant)
	if err != nil {
		return err
	}
	if !m.Config.Demo {
		if len(creds) > 0 {
			return nil
		}
		c, secret, err := createCredential(ctx, m.Store, runbooker.DefaultTenant, "initial-admin", runbooker.RoleAdmin)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "First start: created admin credential %q. It is shown once; keep it:\n\n  export RUNBOOKER_CREDENTIAL=%s:%s\n\n", c.Name, c.ID, secret)
		return nil
	}
	// A new demo credential each start; the previous one stops working.
	for _, c := range creds {
		if c.Name == "demo" {
			if err := m.Store.DeleteCredential(ctx, c.TenantID, c.ID); err != nil {
				return err
			}
		}
	}
	c, secret, err := createCredential(ctx, m.Store, runbooker.DefaultTenant, "demo", runbooker.RoleAdmin)
	if err != nil {
		return err
	}
	cred := c.ID + ":" + secret
	client, err := rbhttp.NewClient(m.URL(), cred, nil)
	if err != nil {
		return err
	}
	n, failed, err := importDir(ctx, client, demo.Runbooks(), "", io.Discard, stdout)
	if err != nil {
		return fmt.Errorf("importing demo runbooks: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("%d demo runbooks failed to import", failed)
	}
	stored, err := m.Store.ListRunbooks(ctx, runbooker.DefaultTenant, runbooker.RunbookFilter{})
	if err != nil {
		return err
	}
	signins, err := m.demoPeople(ctx)
	if err != nil {
		return fmt.Errorf("setting up the demo's people: %w", err)
	}
	count := fmt.Sprintf("%d runbooks", len(stored))
	if len(stored) != n {
		count = fmt.Sprintf("%d runbooks, %d of them from the demo", len(stored), n)
	}
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	cli := commandName(exe, wd)
	url := m.URL()
	fmt.Fprintf(stdout, `
Runbooker demo is up with %[2]s. Open the portal and sign in:

  %[1]s/

%[5]sThe API and the CLI, with the demo's admin credential (new at every --demo start):

  export RUNBOOKER_SERVER=%[1]s RUNBOOKER_CREDENTIAL=%[3]s

  curl -s -u %[3]s -H 'Content-Type: application/json' \
    -d '{"UserName":"jane@contoso.com","FirstName":"Jäne","LastName":"Doe","Domains":["contoso.com"]}' \
    %[1]s/api/external/runbook/user_mail_suggest-mail-aliases/run

  %[4]s run user_general_new-temporary-password -p UserName=jane@contoso.com -p Length=20
  %[4]s run org_network_check-endpoint -p Port=1     # a failing job
  %[4]s runbook list

`, url, count, cred, cli, signins)
	return nil
}

// demoPeople stores the demo tenant's roles and permissions (unless it has
// its own by now) and gives each demo account a new password, and returns
// the banner's part on signing in.
func (m *Main) demoPeople(ctx context.Context) (string, error) {
	t := runbooker.DefaultTenant
	for _, doc := range []struct {
		key string
		v   []byte
	}{{rbhttp.SettingRoles, demo.Roles}, {rbhttp.SettingPermissions, demo.Permissions}} {
		if _, err := m.Store.Setting(ctx, t, doc.key); runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
			if err := m.Store.PutSetting(ctx, t, doc.key, doc.v); err != nil {
				return "", err
			}
		} else if err != nil {
			return "", err
		}
	}
	var b strings.Builder
	for _, u := range demo.Users {
		pw := runbooker.NewSecret()[:16]
		if err := setLocalPassword(ctx, m.Store, t, u.UPN, pw); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  %-24s password %-18s %s\n", u.UPN, pw, u.About)
	}
	b.WriteString("\n  (a demo directory of contoso.com: the CEO and the board are VIP users, whom only the VIP\n  support crew may touch; passwords are new at every --demo start)\n\n")
	return b.String(), nil
}

// commandName is how the banner tells the user to call this program:
// "runbooker" when that name on PATH is this binary; for a binary that
// `go run` built in a temporary directory (deleted at exit), the go run
// command; otherwise the binary's own path.
func commandName(exe, wd string) string {
	same := func(a, b string) bool {
		ra, err1 := filepath.EvalSymlinks(a)
		rb, err2 := filepath.EvalSymlinks(b)
		return err1 == nil && err2 == nil && ra == rb
	}
	if p, err := exec.LookPath("runbooker"); err == nil && exe != "" {
		if abs, err := filepath.Abs(p); err == nil && same(abs, exe) {
			return "runbooker"
		}
	}
	if exe == "" || strings.Contains(filepath.ToSlash(exe), "/go-build") {
		if fi, err := os.Stat(filepath.Join(wd, "cmd", "runbooker")); err == nil && fi.IsDir() {
			return "go run ./cmd/runbooker"
		}
		return "go run github.com/runbooker/runbooker/cmd/runbooker"
	}
	if strings.ContainsAny(exe, " '\"$") {
		return bashparse.Quote(exe)
	}
	return exe
}
