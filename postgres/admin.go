package postgres

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
)

// validDBName is what CreateDatabase and DropDatabase accept: a plain
// identifier, so the name can be spliced into the statement safely.
var validDBName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase creates the database name on the server adminURL points
// to (connecting to adminURL's own database) and returns a URL for the new
// database: adminURL with its path replaced. Tests and `runbooker bench`
// use it to work on a fresh, empty database.
func CreateDatabase(ctx context.Context, adminURL, name string) (string, error) {
	if !validDBName.MatchString(name) {
		return "", runbooker.Errorf(runbooker.EINVALID, "postgres: invalid database name %q", name)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", runbooker.Errorf(runbooker.EINVALID, "postgres: invalid database URL: %s", redactErr(err))
	}
	if err := adminExec(ctx, adminURL, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// DropDatabase drops the database name on adminURL's server, closing any
// connection still open to it. A database that does not exist is no error.
func DropDatabase(ctx context.Context, adminURL, name string) error {
	if !validDBName.MatchString(name) {
		return runbooker.Errorf(runbooker.EINVALID, "postgres: invalid database name %q", name)
	}
	return adminExec(ctx, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

func adminExec(ctx context.Context, adminURL, stmt string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return storeErr(err, "database server")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return storeErr(fmt.Errorf("%s: %w", stmt, err), "database")
	}
	return nil
}

// RedactURL hides the user and password of a database URL for logs and
// messages (postgres://…@host/db); any other text is returned as it is.
func RedactURL(s string) string {
	if i := strings.Index(s, "@"); i > 0 {
		if j := strings.Index(s, "://"); j > 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}
