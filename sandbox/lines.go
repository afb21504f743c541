package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

// chunk is what a pipe reader hands to the collector after one read: the
// records of the complete lines in it (without Seq) and the text of the
// last Exception frame among them.
type chunk struct {
	recs      []runbooker.StreamRecord
	exception *string
	done      bool // the pipe is finished; nothing follows
}

// lineReader turns one output pipe into records. It reads big blocks and
// converts all complete lines of a block into one string, so a line costs a
// substring and a slot in a slice, not an allocation of its own.
type lineReader struct {
	stderr   bool             // every line is an Error record
	maxLine  int              // MaxLineBytes, smaller in tests
	maxFrame int              // MaxFrameBytes, smaller in tests
	now      func() time.Time // clock, for tests

	cont runbooker.StreamType // stream of a split line whose rest follows; "" at a line start
	skip bool                 // dropping the rest of an oversize frame line
	out  chunk                // being filled
}

func newLineReader(stderr bool) *lineReader {
	return &lineReader{stderr: stderr, maxLine: MaxLineBytes, maxFrame: MaxFrameBytes, now: time.Now}
}

// run reads r to its end (or first error) and passes every chunk to send.
func (lr *lineReader) run(r io.Reader, send func(chunk)) {
	small := min(64<<10, lr.maxLine)
	buf := make([]byte, small)
	start, end := 0, 0 // buf[start:end] is a partial line
	for {
		if end == len(buf) {
			if start > 0 {
				end = copy(buf, buf[start:end])
				start = 0
			} else {
				buf, end = lr.overflow(buf, end)
			}
		}
		n, err := r.Read(buf[end:])
		t := lr.now()
		if n > 0 {
			end += n
			// Only the new bytes can hold a newline: the partial line had none.
			if i := bytes.LastIndexByte(buf[end-n:end], '\n'); i >= 0 {
				stop := end - n + i + 1
				lr.lines(buf[start:stop], t)
				start = stop
			}
			if start == end {
				start, end = 0, 0
				if len(buf) > small { // a long line is done: give its memory back
					buf = make([]byte, small)
				}
			}
		}
		if err != nil {
			if start < end {
				lr.lines(buf[start:end], t)
			}
			lr.flush(send)
			return
		}
		lr.flush(send)
	}
}

func (lr *lineReader) flush(send func(chunk)) {
	if len(lr.out.recs) > 0 || lr.out.exception != nil {
		send(lr.out)
		lr.out = chunk{}
	}
}

// overflow handles a buffer filled by one partial line: it grows the buffer,
// or emits the line's first piece, or starts dropping an oversize frame.
func (lr *lineReader) overflow(buf []byte, end int) ([]byte, int) {
	isFrame := !lr.stderr && lr.cont == "" && bytes.HasPrefix(buf, []byte(frameMarker))
	limit := lr.maxLine
	if isFrame {
		limit = lr.maxFrame
	}
	switch {
	case lr.skip:
		return buf, 0
	case len(buf) < limit:
		grown := make([]byte, min(2*len(buf), limit))
		copy(grown, buf[:end])
		return grown, end
	case isFrame:
		lr.add(lr.now(), runbooker.StreamWarning, fmt.Sprintf(
			"A structured record longer than %d bytes was dropped.", lr.maxFrame), nil)
		lr.skip = true
		return buf, 0
	}
	// Split a plain line into pieces of at most maxLine bytes, each cut
	// where no UTF-8 sequence is cut in two.
	for end >= lr.maxLine {
		cut := lr.maxLine
		for i := cut - 1; i > 0 && i > cut-utf8.UTFMax; i-- {
			if utf8.RuneStart(buf[i]) {
				r, size := utf8.DecodeRune(buf[i:end])
				if i+size > cut || (r == utf8.RuneError && !utf8.FullRune(buf[i:end])) {
					cut = i
				}
				break
			}
		}
		piece := sanitize(buf[:cut])
		if lr.cont == "" {
			lr.cont = runbooker.StreamError
			if !lr.stderr {
				lr.cont, piece = classifyPlain(piece)
			}
		}
		lr.add(lr.now(), lr.cont, piece, nil)
		end = copy(buf, buf[cut:end])
	}
	return buf, end
}

// lines adds the records of region, which holds whole lines (the last may
// lack its newline at the end of the stream).
func (lr *lineReader) lines(region []byte, t time.Time) {
	s := sanitize(region)
	if lr.out.recs == nil {
		lr.out.recs = make([]runbooker.StreamRecord, 0, bytes.Count(region, []byte{'\n'})+1)
	}
	for len(s) > 0 {
		var line string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		switch {
		case lr.skip: // the tail of an oversize frame
			lr.skip = false
		case lr.cont != "": // the last piece of a split line
			if line != "" { // empty when the line ended right at the cut
				lr.add(t, lr.cont, line, nil)
			}
			lr.cont = ""
		case lr.stderr:
			lr.add(t, runbooker.StreamError, line, nil)
		default:
			p := classifyLine(line)
			if p.exception {
				text := p.text
				lr.out.exception = &text
				continue
			}
			lr.add(t, p.typ, p.text, p.value)
		}
	}
}

func (lr *lineReader) add(t time.Time, typ runbooker.StreamType, text string, value []byte) {
	lr.out.recs = append(lr.out.recs, runbooker.StreamRecord{Time: t, Type: typ, Text: text, Value: value})
}

// sanitize converts b to a string that is valid UTF-8 without NUL bytes,
// which every store (PostgreSQL text in particular) and JSON can carry.
func sanitize(b []byte) string {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	return string(bytes.ReplaceAll(b, []byte{0}, []byte("\uFFFD")))
}
