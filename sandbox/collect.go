package sandbox

import (
	"fmt"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
)

// collector numbers the records of both pipes, enforces the output cap and
// hands batches to the Emitter. It runs on Run's goroutine only.
type collector struct {
	emit    Emitter
	next    int64 // Seq of the next stored record
	cap     int64
	used    int64 // bytes stored so far
	pending []runbooker.StreamRecord

	capReason    string // Spec.OutputCapReason
	dropped      int64  // records dropped by the cap
	droppedBytes int64
	lastError    string // text of the last Error record, stored or not
	exception    string // text of the last Exception frame
	mask         *masker
	helpers      []string // Spec.Helpers, for Bash runbooks
	helperFailed string   // the shell's message about a helper that did not start
	host         hostRefusal
}

func newCollector(spec Spec, emit Emitter) *collector {
	c := &collector{emit: emit, next: spec.FirstSeq, cap: spec.OutputCap, capReason: spec.OutputCapReason}
	if spec.Language == runbooker.LangBash {
		c.helpers = spec.Helpers
	}
	if spec.Secrets != nil {
		c.mask = newMasker(spec.Secrets)
	}
	if c.cap <= 0 {
		c.cap = DefaultOutputCap
	}
	return c
}

// add takes one chunk of a pipe. It reports whether records are pending.
// Records are numbered in place; a big chunk is handed on in slices of its
// own array rather than copied.
func (c *collector) add(ch chunk) bool {
	c.learnSecrets()
	if ch.exception != nil {
		c.exception = *ch.exception // masked in failure, with every secret known by then
	}
	kept := ch.recs[:0]
	for i := range ch.recs {
		r := &ch.recs[i]
		if c.mask != nil {
			r.Text, r.Value = c.mask.text(r.Text), c.mask.value(r.Value)
		}
		if r.Type == runbooker.StreamError {
			c.lastError = r.Text
			if c.helperFailed == "" && len(c.helpers) > 0 {
				c.helperFailed = c.failedHelper(r.Text)
			}
			c.host.see(r.Text)
		}
		size := int64(len(r.Text) + len(r.Value))
		if c.dropped > 0 || c.used+size > c.cap {
			c.dropped++
			c.droppedBytes += size
			continue
		}
		c.used += size
		r.Seq = c.next
		c.next++
		kept = append(kept, *r) // in place: kept never overtakes i
	}
	if len(c.pending) == 0 {
		for len(kept) >= BatchRecords {
			c.emit(kept[:BatchRecords:BatchRecords])
			kept = kept[BatchRecords:]
		}
		c.pending = kept[:len(kept):len(kept)] // appending copies, never overwrites
		return len(c.pending) > 0
	}
	for len(kept) > 0 {
		n := min(len(kept), BatchRecords-len(c.pending))
		c.pending = append(c.pending, kept[:n]...)
		kept = kept[n:]
		if len(c.pending) == BatchRecords {
			c.flush()
		}
	}
	return len(c.pending) > 0
}

// learnSecrets takes the secrets the job read since the last call, with a
// Warning for each one too short to mask.
func (c *collector) learnSecrets() {
	for _, n := range c.mask.refresh() {
		c.note(runbooker.StreamWarning, n)
	}
}

// note adds a record the sandbox itself writes (a Warning about dropped
// output, for example). It is not subject to the cap: saying that output
// was lost must never be lost itself.
//
// Its time, like that of every record the line reader stamps, is the wall
// clock's, not the injected runbooker.Clock: a record's time says when a
// real child process wrote (or the sandbox noticed) something, and the
// process runs in real time whatever a test's clock says. Nothing decides
// on record times (order is by Seq), and they come from hybrid workers
// whose clocks the server does not control anyway.
func (c *collector) note(typ runbooker.StreamType, text string) {
	c.pending = append(c.pending, runbooker.StreamRecord{
		Seq: c.next, Time: time.Now(), Type: typ, Text: text,
	})
	c.next++
}

// flush hands the pending records to the Emitter.
func (c *collector) flush() {
	if len(c.pending) == 0 {
		return
	}
	batch := c.pending
	c.pending = nil
	c.emit(batch)
}

// finish adds the Warning about dropped records, if any, and flushes.
func (c *collector) finish() {
	c.learnSecrets()
	if c.dropped > 0 {
		why := c.capReason
		if why == "" {
			why = "Output limit of " + formatBytes(c.cap) + " reached"
		}
		c.note(runbooker.StreamWarning, fmt.Sprintf("%s: %d records (%d bytes) were dropped.",
			why, c.dropped, c.droppedBytes))
	}
	for len(c.pending) > BatchRecords { // notes may have overfilled it
		batch := c.pending[:BatchRecords:BatchRecords]
		c.pending = c.pending[BatchRecords:]
		c.emit(batch)
	}
	c.flush()
}

// failure is the exception message of a process that ended with state
// (for example "exit status 2").
func (c *collector) failure(state string) string {
	// finish learned the last secrets; texts kept before one was read are
	// masked with it too.
	c.exception, c.lastError = c.mask.text(c.exception), c.mask.text(c.lastError)
	switch {
	case c.host.refused() && c.exception == "": // the host never ran
		return c.host.exception()
	case oneLine(c.exception) != "":
		return oneLine(c.exception)
	case oneLine(c.lastError) != "":
		return oneLine(c.lastError) + " (" + state + ")"
	}
	return state
}

// failedHelper returns the shell's message when text says a helper could
// not be started.
func (c *collector) failedHelper(text string) string {
	for _, h := range c.helpers {
		for _, why := range []string{": command not found", ": Permission denied", ": No such file or directory"} {
			if i := strings.Index(text, h+why); i >= 0 && (i == 0 || text[i-1] == ' ' || text[i-1] == '/') {
				return text
			}
		}
	}
	return ""
}

// formatBytes writes a byte count the way an operator reads it.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
