package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// clientFlags adds --server and --credential (RUNBOOKER_SERVER,
// RUNBOOKER_CREDENTIAL) to fs; call the returned func after parsing.
func clientFlags(fs interface {
	StringVar(*string, string, string, string)
}) func() (*rbhttp.Client, error) {
	var server, cred string
	fs.StringVar(&server, "server", "http://127.0.0.1:8080", "server URL")
	fs.StringVar(&cred, "credential", "", "credential ID:SECRET")
	return func() (*rbhttp.Client, error) {
		if cred == "" {
			return nil, fmt.Errorf("no credential: set RUNBOOKER_CREDENTIAL=ID:SECRET (from `runbooker credential create`) or pass --credential")
		}
		c, err := rbhttp.NewClient(server, cred, nil)
		if c != nil {
			c.Agent = "cli"
		}
		return c, err
	}
}

// parseParams turns -p Key=Value (a string; the server converts it to the
// declared type) and -p Key:=JSON (a raw JSON value) into a parameter map.
func parseParams(ps []string) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range ps {
		if k, v, ok := strings.Cut(p, ":="); ok && !strings.Contains(k, "=") {
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return nil, fmt.Errorf("-p %s: value after := must be JSON: %v", p, err)
			}
			out[k] = x
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-p %q: expected Key=Value or Key:=JSON", p)
		}
		out[k] = v
	}
	return out, nil
}

// jobCommandFlags parses run's and start's flags. With batch non-nil (start)
// it also takes --batch FILE, which replaces NAME and -p.
func jobCommandFlags(name string, args []string, batch *string) (*rbhttp.Client, string, map[string]any, string, error) {
	fs := newFlagSet(name)
	var ps multiFlag
	fs.Var(&ps, "p", "parameter Key=Value or Key:=JSON (repeatable)")
	runOn := fs.String("run-on", "", "worker group to run on (with --batch: for lines that name none)")
	use := fmt.Sprintf("usage: runbooker %s NAME [-p Key=Value]... [--run-on GROUP]", name)
	if batch != nil {
		fs.StringVar(batch, "batch", "", `file of jobs, one JSON object {"runbook":...,"parameters":{...},"runOn":...} a line ("-": stdin)`)
		use += fmt.Sprintf(", or runbooker %s --batch FILE [--run-on GROUP]", name)
	}
	client := clientFlags(fs)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return nil, "", nil, "", err
	}
	if batch != nil && *batch != "" {
		if len(rest) != 0 || len(ps) != 0 {
			return nil, "", nil, "", fmt.Errorf("--batch takes no NAME or -p: each line names its runbook and parameters (%s)", use)
		}
		c, err := client()
		return c, "", nil, *runOn, err
	}
	if len(rest) != 1 {
		return nil, "", nil, "", fmt.Errorf("%s", use)
	}
	params, err := parseParams(ps)
	if err != nil {
		return nil, "", nil, "", err
	}
	c, err := client()
	return c, rest[0], params, *runOn, err
}

// isTerminal reports whether f is a character device (a terminal), without
// pulling in a terminal library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// spinner shows elapsed time on a terminal until stop is called.
func spinner(w io.Writer, label string) (stop func()) {
	if !isTerminal(w) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		frames := `|/-\`
		start := time.Now()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%c %s %.1fs", frames[i%len(frames)], label, time.Since(start).Seconds())
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, name, params, runOn, err := jobCommandFlags("run", args, nil)
	if err != nil {
		return err
	}
	stop := spinner(stderr, "running "+name)
	resp, err := c.Run(ctx, name, params, runOn)
	stop()
	if err != nil {
		return err
	}
	if !runbooker.JobStatus(resp.Status).Terminal() {
		// The server stopped waiting; follow the job until it ends.
		st, err := tail(ctx, c, resp.JobID, stdout, stderr, true)
		if err != nil {
			return err
		}
		resp.Status = string(st)
	} else {
		for _, r := range resp.Streams {
			if r.StreamType == string(runbooker.StreamOutput) {
				fmt.Fprintln(stdout, r.Summary)
			}
		}
	}
	if resp.Status != string(runbooker.StatusCompleted) {
		return reportEnd(ctx, c, resp.JobID, resp.Status, stderr)
	}
	return nil
}

// reportEnd says on stderr how a job ended, with its exception, and fails
// (exit status 1) unless it Completed.
func reportEnd(ctx context.Context, c *rbhttp.Client, id, status string, stderr io.Writer) error {
	fmt.Fprintf(stderr, "job %s %s", id, status)
	if status != string(runbooker.StatusCompleted) {
		if exc, _ := c.ExceptionText(ctx, id); exc != "" {
			fmt.Fprintf(stderr, ": %s", exc)
		}
	}
	fmt.Fprintln(stderr)
	if status != string(runbooker.StatusCompleted) {
		return exitError{1}
	}
	return nil
}

func cmdStart(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	var batch string
	c, name, params, runOn, err := jobCommandFlags("start", args, &batch)
	if err != nil {
		return err
	}
	if batch != "" {
		return startBatch(ctx, c, batch, runOn, stdin, stdout)
	}
	resp, err := c.Start(ctx, name, params, runOn)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, resp.JobID)
	return nil
}

// tail prints a job's records as they arrive until it is terminal, and
// returns how it ended. With outputOnly, only the Output stream goes to
// stdout and the rest is dropped.
func tail(ctx context.Context, c *rbhttp.Client, id string, stdout, stderr io.Writer, outputOnly bool) (runbooker.JobStatus, error) {
	var after int64
	for {
		st, recs, err := c.JobStreams(ctx, id, after)
		if err != nil {
			return "", err
		}
		for _, r := range recs {
			after = r.Seq
			switch {
			case r.Type == runbooker.StreamOutput:
				fmt.Fprintln(stdout, r.Text)
			case !outputOnly:
				fmt.Fprintf(stderr, "%s: %s\n", strings.ToUpper(string(r.Type)), r.Text)
			}
		}
		if st.Terminal() && len(recs) == 0 {
			return st, nil
		}
		if len(recs) > 0 {
			continue // there may be more right away
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func cmdJob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: runbooker job status|output|streams|exception|stop|resume|tail|get ID, or job list"
	if len(args) == 0 {
		return fmt.Errorf(use)
	}
	verb := args[0]
	fs := newFlagSet("job " + verb)
	client := clientFlags(fs)
	types := fs.String("types", "", "streams: comma-separated stream types")
	status := fs.String("status", "", "list: comma-separated statuses")
	runbook := fs.String("runbook", "", "list: runbook name")
	limit := fs.Int("limit", 50, "list: page size")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	if verb == "list" {
		q := url.Values{}
		if *status != "" {
			q.Set("status", *status)
		}
		if *runbook != "" {
			q.Set("runbook", *runbook)
		}
		q.Set("limit", fmt.Sprint(*limit))
		page, err := c.Jobs(ctx, q)
		if err != nil {
			return err
		}
		for _, j := range page.Jobs {
			fmt.Fprintf(stdout, "%s  %-10s  %s  %s\n", j.ID, j.Status, j.CreatedAt.Local().Format(time.DateTime), j.RunbookName)
		}
		return nil
	}
	if len(rest) != 1 {
		return fmt.Errorf(use)
	}
	id := rest[0]
	switch verb {
	case "status":
		s, err := c.JobStatus(ctx, id)
		if err == nil {
			fmt.Fprintln(stdout, s)
		}
		return err
	case "output":
		s, err := c.OutputText(ctx, id)
		if err == nil {
			fmt.Fprint(stdout, s)
		}
		return err
	case "exception":
		s, err := c.ExceptionText(ctx, id)
		if err == nil && s != "" {
			fmt.Fprintln(stdout, s)
		}
		return err
	case "streams":
		var ts []string
		if *types != "" {
			ts = strings.Split(*types, ",")
		}
		recs, err := c.OutputStreams(ctx, id, ts...)
		if err != nil {
			return err
		}
		for _, r := range recs {
			fmt.Fprintf(stdout, "%s %-11s %s\n", r.Time.Local().Format("15:04:05.000"), r.StreamType, r.Summary)
		}
		return nil
	case "get", "stop", "resume":
		var j *runbooker.Job
		switch verb {
		case "get":
			j, err = c.Job(ctx, id)
		case "stop":
			j, err = c.StopJob(ctx, id)
		default:
			j, err = c.ResumeJob(ctx, id)
		}
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(j)
	case "tail":
		st, err := tail(ctx, c, id, stdout, stderr, false)
		if err != nil {
			return err
		}
		return reportEnd(ctx, c, id, string(st), stderr)
	}
	return fmt.Errorf(use)
}

// subcommand reads a client command of the form `NAME VERB [flags] ARGS`:
// it splits off the verb, lets define add the verb's own flags, parses the
// rest and makes the API client (--server, --credential).
func subcommand(name, use string, args []string, define func(fs *flag.FlagSet)) (verb string, rest []string, c *rbhttp.Client, err error) {
	if len(args) == 0 {
		return "", nil, nil, fmt.Errorf("%s", use)
	}
	verb = args[0]
	fs := newFlagSet(name + " " + verb)
	client := clientFlags(fs)
	if define != nil {
		define(fs)
	}
	if rest, err = parseFlags(fs, args[1:]); err != nil {
		return "", nil, nil, err
	}
	c, err = client()
	return verb, rest, c, err
}
