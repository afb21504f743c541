package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
)

// createCredential stores a new credential and returns it with its secret,
// which exists nowhere else afterwards.
func createCredential(ctx context.Context, st runbooker.Store, tenant, name string, role runbooker.Role) (*runbooker.Credential, string, error) {
	return createBoundCredential(ctx, st, tenant, name, role, "")
}

// createBoundCredential is createCredential for a credential that acts
// for the directory user upn ("" for none).
func createBoundCredential(ctx context.Context, st runbooker.Store, tenant, name string, role runbooker.Role, upn string) (*runbooker.Credential, string, error) {
	if err := st.EnsureTenant(ctx, tenant); err != nil {
		return nil, "", err
	}
	secret := runbooker.NewSecret()
	c := &runbooker.Credential{
		ID: runbooker.NewID(), TenantID: tenant, Name: name, Role: role,
		SecretHash: runbooker.HashSecret(secret), CreatedAt: time.Now().UTC(), User: upn,
	}
	if err := st.CreateCredential(ctx, c); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// cmdCredential: `credential create` works offline on the data dir so the
// first admin credential can be made before anything listens.
func cmdCredential(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: runbooker credential create --name N [--role admin|operator] [--user UPN] [--tenant T] [--data DIR]")
	}
	fs := newFlagSet("credential create")
	name := fs.String("name", "", "a name for the credential (recorded as the caller of its jobs)")
	role := fs.String("role", "", "admin or operator (default admin; operator with --user)")
	upn := fs.String("user", "", "the directory user (UPN) the credential acts for, with that person's rights")
	tenant := fs.String("tenant", runbooker.DefaultTenant, "tenant the credential belongs to")
	dataDir := fs.String("data", defaultDir("data"), "data directory")
	db := fs.String("db", "", "database (default sqlite:DATA/runbooker.db)")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("--name is required")
	}
	*upn = strings.TrimSpace(*upn)
	if *role == "" {
		*role = string(runbooker.RoleAdmin)
		if *upn != "" {
			*role = string(runbooker.RoleOperator)
		}
	}
	r := runbooker.Role(*role)
	if err := runbooker.CheckCredentialInput(*name, r, *upn); err != nil {
		return err
	}
	if *db == "" {
		*db = "sqlite:" + filepath.Join(*dataDir, "runbooker.db")
	}
	st, err := openStore(ctx, *db, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	c, secret, err := createBoundCredential(ctx, st, *tenant, *name, r, *upn)
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]string{"name": c.Name, "role": string(c.Role), "user": c.User})
	if err := auditCLI(ctx, st, c.TenantID, "credential.create", c.ID, detail); err != nil {
		return err
	}
	if c.User != "" {
		fmt.Fprintf(stdout, "created credential %q in tenant %q acting for %s; the secret is shown once:\n", c.Name, c.TenantID, c.User)
	} else {
		fmt.Fprintf(stdout, "created %s credential %q in tenant %q; the secret is shown once:\n", c.Role, c.Name, c.TenantID)
	}
	fmt.Fprintf(stdout, "%s:%s\n", c.ID, secret)
	return nil
}
