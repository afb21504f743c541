package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	rbhttp "github.com/runbooker/runbooker/http"
)

// maxBatchLine bounds one line of a batch file; the server would refuse a
// request that large anyway.
const maxBatchLine = 16 << 20

// startBatch starts the jobs of a JSON-lines file (path "-": stdin), one
// job per line, and prints their ids in line order. The whole file is
// checked before anything is sent. Up to engine.MaxBatch jobs go in one
// request, which the server takes all or none; a longer file goes in
// several, so a refusal in a later request leaves the earlier ones started.
func startBatch(ctx context.Context, c *rbhttp.Client, path, runOn string, stdin io.Reader, stdout io.Writer) error {
	src, name := stdin, "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		src, name = f, path
	}
	jobs, lines, err := readBatchFile(src, name, runOn)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		return fmt.Errorf("%s holds no jobs", name)
	}
	for from := 0; from < len(jobs); from += engine.MaxBatch {
		to := min(from+engine.MaxBatch, len(jobs))
		started, err := c.StartBatch(ctx, jobs[from:to])
		if err != nil {
			return batchLineError(err, name, lines[from:to], from > 0)
		}
		for _, j := range started {
			fmt.Fprintln(stdout, j.ID)
		}
	}
	return nil
}

// readBatchFile parses every non-blank line as a job and returns the jobs
// with the line number each came from. runOn is the group of lines that
// name none.
func readBatchFile(r io.Reader, name, runOn string) ([]rbhttp.BatchJob, []int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxBatchLine)
	var jobs []rbhttp.BatchJob
	var lines []int
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\uFEFF")) // a byte-order mark some editors write
		}
		if len(line) == 0 {
			continue
		}
		j, err := rbhttp.ParseBatchJob(line)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d of %s: %s", n, name, runbooker.ErrorMessage(err))
		}
		if j.RunOn == "" {
			j.RunOn = runOn
		}
		jobs = append(jobs, j)
		lines = append(lines, n)
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, nil, fmt.Errorf("line %d of %s is longer than %d bytes", n+1, name, maxBatchLine)
	} else if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return jobs, lines, nil
}

// batchLineError turns the server's "job <i> of the batch: ..." into the
// file's line number, which is what the user can find, and says whether
// earlier requests' jobs were started.
func batchLineError(err error, name string, lines []int, earlierStarted bool) error {
	code, msg := runbooker.ErrorCode(err), runbooker.ErrorMessage(err)
	if code == runbooker.EINTERNAL {
		msg = err.Error()
	}
	if rest, ok := strings.CutPrefix(msg, "job "); ok {
		if idx, why, ok := strings.Cut(rest, " of the batch: "); ok {
			if i, err := strconv.Atoi(idx); err == nil && i >= 0 && i < len(lines) {
				msg = fmt.Sprintf("line %d of %s: %s", lines[i], name, why)
			}
		}
	}
	switch code {
	case runbooker.EINVALID, runbooker.ENOTFOUND, runbooker.EUNAUTHORIZED, runbooker.EFORBIDDEN, runbooker.ECONFLICT:
		// A refusal: the server queues a batch all or none.
		msg += fmt.Sprintf(" (no job of lines %d to %d was started", lines[0], lines[len(lines)-1])
	default:
		// The request may have been committed before the answer was lost.
		msg += fmt.Sprintf(" (the jobs of lines %d to %d may or may not have been started: see runbooker job list", lines[0], lines[len(lines)-1])
	}
	if earlierStarted {
		msg += "; those of the lines before were, their ids are printed above"
	}
	return runbooker.Errorf(code, "%s)", msg)
}
