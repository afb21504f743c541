package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	rbhttp "github.com/runbooker/runbooker/http"
)

func cmdRunbook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: runbooker runbook import DIR [--prefix P] | list | get NAME | delete NAME"
	var prefix *string
	verb, rest, c, err := subcommand("runbook", use, args, func(fs *flag.FlagSet) {
		prefix = fs.String("prefix", "", "import: name prefix, e.g. rjgit-")
	})
	if err != nil {
		return err
	}
	switch {
	case verb == "import" && len(rest) == 1:
		if st, err := os.Stat(rest[0]); err != nil || !st.IsDir() {
			return fmt.Errorf("cannot import runbooks from %s: it is not a directory that can be read", rest[0])
		}
		n, failed, err := importDir(ctx, c, os.DirFS(rest[0]), *prefix, stdout, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %d runbooks from %s\n", n, rest[0])
		if failed > 0 {
			return fmt.Errorf("%d files could not be imported", failed)
		}
		return nil
	case verb == "list" && len(rest) == 0:
		rbs, err := c.Runbooks(ctx, runbooker.RunbookFilter{})
		if err != nil {
			return err
		}
		var warns workerWarnings
		for _, rb := range rbs {
			mark := ""
			if rb.WorkerWarning != "" {
				mark = "  (no worker can run it now)"
				warns.add(rb.WorkerWarning)
			}
			fmt.Fprintf(stdout, "%-60s %-10s %s%s\n", rb.Name, rb.Language, rb.Synopsis, mark)
		}
		warns.print(stderr)
		return nil
	case verb == "get" && len(rest) == 1:
		rb, err := c.Runbook(ctx, rest[0])
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rb)
	case verb == "delete" && len(rest) == 1:
		return c.DeleteRunbook(ctx, rest[0])
	}
	return fmt.Errorf(use)
}

// importDir uploads every <scope>/<category>/<name>.<ext> script of fsys.
// Files that are not scripts are skipped; scripts with a bad path are reported.
func importDir(ctx context.Context, c *rbhttp.Client, fsys fs.FS, prefix string, stdout, stderr io.Writer) (imported, failed int, err error) {
	var warns workerWarnings
	defer func() { warns.print(stderr) }()
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != "." {
				return fs.SkipDir
			}
			return nil
		}
		lang, ok := runbooker.LanguageFromExt(path)
		if !ok {
			return nil
		}
		name, _, err := catalog.PathToName(prefix, path)
		if err != nil {
			fmt.Fprintf(stderr, "skipped %s: %s\n", filepath.FromSlash(path), errText(err))
			failed++
			return nil
		}
		src, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		rb, err := c.PutRunbook(ctx, name.Full, lang, src)
		if err != nil {
			fmt.Fprintf(stderr, "failed %s: %s\n", name, errText(err))
			failed++
			return nil
		}
		note := ""
		if rb.ParseError != nil {
			note = " (parse error: " + rb.ParseError.Error() + ")"
		}
		fmt.Fprintf(stdout, "%s%s\n", name, note)
		if rb.WorkerWarning != "" {
			warns.add(rb.WorkerWarning)
		}
		imported++
		return nil
	})
	return imported, failed, err
}

// workerWarnings counts runbooks per reason no worker can run them, so
// that 167 PowerShell runbooks give one line, not 167.
type workerWarnings struct {
	order []string
	count map[string]int
}

func (w *workerWarnings) add(text string) {
	if w.count == nil {
		w.count = map[string]int{}
	}
	if w.count[text] == 0 {
		w.order = append(w.order, text)
	}
	w.count[text]++
}

func (w *workerWarnings) print(out io.Writer) {
	for _, text := range w.order {
		n := w.count[text]
		fmt.Fprintf(out, "warning: %d runbook%s cannot run now: %s; their jobs wait until a worker that can run them is online\n",
			n, map[bool]string{true: "s"}[n != 1], text)
	}
}
