package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/runbooker/runbooker"
)

// newFlagSet returns a flag set whose usage goes to stderr and whose parse
// errors are returned, not fatal.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("runbooker "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags applies RUNBOOKER_<NAME> environment variables to flags that
// were not given on the command line, then parses args. Flags may appear
// before or after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			fs.SetOutput(&b)
			fs.PrintDefaults()
			return nil, fmt.Errorf("flags of %s (each also RUNBOOKER_<FLAG>):\n%s", fs.Name(), b.String())
		} else if err != nil {
			return nil, fmt.Errorf("%v (see runbooker help)", err)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "RUNBOOKER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s: %v", env, e)
			}
		}
	})
	return positional, err
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// errText is how the CLI shows an error: the client-safe message of a
// domain error, the plain text of anything else.
func errText(err error) string {
	if runbooker.ErrorCode(err) != runbooker.EINTERNAL {
		return runbooker.ErrorMessage(err)
	}
	return err.Error()
}
