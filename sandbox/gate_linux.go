package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/bashparse"
)

// A gated start is how a Bash job starts while Spec.Ready is asked (the
// write that stores a directly dispatched job): bash is started at once
// and does its own start-up (loading, locale, environment) meanwhile; it
// then sources BASH_ENV, a few lines that wait on a pipe, the gate, before
// a single line of the runbook runs. Once Ready says yes the gate says
// "go": the lines close their descriptors, unset BASH_ENV and leave $_ as
// bash set it, and the runbook runs as if started then. Compared with a
// held start (stopped at the exec, see heldStart) the interpreter's
// start-up overlaps the write instead of following it, and no tracing is
// needed: on PostgreSQL, whose commit outlasts the fork and the exec, a
// synchronous run's median fell from 2.10 to 1.96 times a bare bash start.
//
// It fails closed: a gate closed without "go" (a refusal, or the worker
// died) ends bash with status 125, the runbook unrun. It is used only where
// a probe showed that bash sources BASH_ENV from /dev/fd (gatesBash);
// elsewhere the job is held as before.
type bashGate struct {
	w *os.File // the write end; the job holds the read end
}

// gateLines are BASH_ENV's text: %[1]d is its own descriptor, %[2]d the
// gate's, %[3]s what else BASH_ENV was to source (the parameter prelude,
// see bashParams), as a command.
const gateLines = `read -r -u %[2]d rb_gate && [ "$rb_gate" = go ] || exit 125; ` +
	`unset BASH_ENV rb_gate; exec %[1]d<&- %[2]d<&-; %[3]s: "$BASH"` + "\n"

// startGated starts cmd, a Bash job's command, waiting at its gate. It
// returns nil, with nothing started, for other languages or where the
// probe failed: the caller then holds the job the other way.
func startGated(spec Spec, lease *jobLease, cmd *exec.Cmd) (*bashGate, error) {
	if spec.Language != runbooker.LangBash || !gatesBash(cmd.Path) {
		return nil, nil
	}
	src, srcW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	gateR, gateW, err := os.Pipe()
	if err != nil {
		src.Close()
		srcW.Close()
		return nil, err
	}
	fd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, src, gateR)
	then := ""
	for _, kv := range cmd.Env {
		if v, ok := strings.CutPrefix(kv, "BASH_ENV="); ok {
			then = ". " + bashparse.Quote(v) + "; "
		}
	}
	cmd.Env = append(cmd.Env, "BASH_ENV=/dev/fd/"+strconv.Itoa(fd)) // the last value of a name wins
	// bash opens /dev/fd/N anew, as the job's user: the pipe must let it.
	err = src.Chmod(0o444)
	if err == nil {
		_, err = fmt.Fprintf(srcW, gateLines, fd, fd+1, then) // far below a pipe's buffer
	}
	srcW.Close()
	if err == nil {
		err = lease.start(cmd.SysProcAttr, cmd.Start)
	}
	src.Close()
	gateR.Close()
	if err != nil {
		gateW.Close()
		return nil, err
	}
	return &bashGate{w: gateW}, nil
}

// open lets the runbook run. A process that is gone already does not read
// the word; its end is reported as any other.
func (g *bashGate) open() {
	_, _ = g.w.Write([]byte("go\n"))
	g.w.Close()
}

// kill ends the gated process, the runbook unrun.
func (g *bashGate) kill(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	g.w.Close()
}

var gateProbes sync.Map // bash path → bool

// gatesBash reports, once per interpreter, whether bash at path sources
// BASH_ENV from a /dev/fd descriptor: it runs that bash once with a
// variable set that way and reads it back.
func gatesBash(path string) bool {
	if ok, found := gateProbes.Load(path); found {
		return ok.(bool)
	}
	ok := probeGate(path)
	gateProbes.Store(path, ok)
	return ok
}

func probeGate(path string) bool {
	r, w, err := os.Pipe()
	if err != nil {
		return false
	}
	defer r.Close()
	_, err = w.WriteString("rb_probe=sourced\n")
	w.Close()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", `printf %s "$rb_probe"`)
	cmd.Env = []string{"BASH_ENV=/dev/fd/3", "PATH=/usr/bin:/bin"}
	cmd.ExtraFiles = []*os.File{r}
	out, err := cmd.Output()
	return err == nil && bytes.Equal(out, []byte("sourced"))
}
