// Package storeutil holds what the SQL store engines share besides their
// SQL: the job-list cursor format, the loading of numbered migration
// files, the checks a new job or asset passes before it is written, and
// the reading of the rows both engines store alike (the column lists and
// Scan functions of runbooks, credentials, worker groups, workers and
// assets), the checks on reported stream records and the ECONFLICT of a
// fenced attempt. Each engine keeps its own statements.
package storeutil

import (
	"encoding/base64"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// FormatCursor encodes a job-list position (creation time in nanoseconds
// and row key) as an opaque, URL-safe cursor.
func FormatCursor(at, pk int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "." + strconv.FormatInt(pk, 10)))
}

// ParseCursor decodes a cursor made by FormatCursor; ok is false for
// anything else.
func ParseCursor(s string) (at, pk int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, false
	}
	a, p, found := strings.Cut(string(b), ".")
	at, err1 := strconv.ParseInt(a, 10, 64)
	pk, err2 := strconv.ParseInt(p, 10, 64)
	return at, pk, found && err1 == nil && err2 == nil
}

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads dir/*.sql from fsys, each named "<n>_<what>.sql"
// with a positive, unique n, in version order. engine names the store in
// errors.
func LoadMigrations(fsys fs.FS, dir, engine string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: migration %s: name must start with a positive number and '_'", engine, base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("%s: migrations %s and %s share a number", engine, out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}
