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
	// pause follows a read that returned little, so that a runbook writing
	// line by line fills the pipe for a while instead of waking the reader
	// for every line: a wakeup costs the writer more than the write itself.
	// Only stdout pauses; stderr is read at once, and its records wait for
	// the stdout data written before them (see gate).
	pause time.Duration
	gate  *gate // stdout only

	// decode reads a line that is not valid UTF-8 in the system's code page
	// (Windows); nil replaces its bad bytes with U+FFFD.
	decode func(string) string

	cont runbooker.StreamType // stream of a split line whose rest follows; "" at a line start
	skip bool                 // dropping the rest of an oversize frame line
	out  chunk                // being filled
	part *partRecord          // a record whose text continues in the next frame
}

// partRecord is a frame record being joined from continued frames (see
// "more" in the package documentation).
type partRecord struct {
	typ  runbooker.StreamType
	time time.Time
	text strings.Builder
}

func newLineReader(stderr bool) *lineReader {
	lr := &lineReader{stderr: stderr, maxLine: MaxLineBytes, maxFrame: MaxFrameBytes, now: time.Now, decode: nativeDecode}
	if !stderr {
		lr.pause = 200 * time.Microsecond
	}
	return lr
}

// smallRead is the read size below which the reader pauses.
const smallRead = 16 << 10

// run reads r to its end (or first error) and passes every chunk to send. It
// stops early when send reports that nobody listens any more.
func (lr *lineReader) run(r io.Reader, send func(chunk) bool) {
	small := min(64<<10, lr.maxLine+1) // the size for a busy pipe
	buf := make([]byte, min(4<<10, small))
	start, end := 0, 0 // buf[start:end] is a partial line
	var lastData time.Time
	for {
		if end == len(buf) {
			if start > 0 {
				end = copy(buf, buf[start:end])
				start = 0
			} else {
				buf, end = lr.overflow(buf, end)
			}
		}
		if lr.gate != nil {
			lr.gate.enter()
		}
		n, err := r.Read(buf[end:])
		t := lr.now()
		if lr.gate != nil {
			lr.gate.read(n)
		}
		if n > 0 {
			if end+n == len(buf) && len(buf) < small { // a busy pipe: read more at once
				grown := make([]byte, min(2*len(buf), small))
				copy(grown, buf[:end+n])
				buf = grown
			}
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
			lr.endPart()
			lr.flush(send)
			lr.cycleDone()
			return
		}
		if !lr.flush(send) {
			lr.cycleDone()
			return
		}
		lr.cycleDone()
		// Pause only in a burst of small reads: a single line (or the last
		// output before the end) is passed on at once.
		burst := n > 0 && t.Sub(lastData) < time.Millisecond
		if n > 0 {
			lastData = t
		}
		if burst && n < smallRead && lr.pause > 0 {
			if lr.gate != nil {
				lr.gate.pause(lr.pause)
			} else {
				time.Sleep(lr.pause)
			}
		}
	}
}

func (lr *lineReader) cycleDone() {
	if lr.gate != nil {
		lr.gate.done()
	}
}

func (lr *lineReader) flush(send func(chunk) bool) bool {
	if len(lr.out.recs) == 0 && lr.out.exception == nil {
		return true
	}
	c := lr.out
	lr.out = chunk{}
	return send(c)
}

// overflow handles a buffer filled by one partial line: it grows the buffer,
// or emits the line's first pieces, or starts dropping an oversize frame.
func (lr *lineReader) overflow(buf []byte, end int) ([]byte, int) {
	isFrame := !lr.stderr && lr.cont == "" && bytes.HasPrefix(buf, []byte(frameMarker))
	limit := lr.maxLine + 1 // one byte more than a piece: a piece is never a whole line
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
		lr.endPart()
		lr.add(lr.now(), runbooker.StreamWarning, fmt.Sprintf(
			"A structured record longer than %d bytes was dropped.", lr.maxFrame), nil)
		lr.skip = true
		return buf, 0
	}
	t := lr.now()
	for end > lr.maxLine {
		cut := cutPoint(buf[:lr.maxLine])
		lr.piece(lr.sanitize(string(buf[:cut])), t)
		end = copy(buf, buf[cut:end])
	}
	return buf, end
}

// lines adds the records of region, which holds whole lines (the last may
// lack its newline at the end of the stream). All its lines share one
// string; only lines with invalid UTF-8 or NUL bytes get their own.
func (lr *lineReader) lines(region []byte, t time.Time) {
	clean := utf8.Valid(region) && bytes.IndexByte(region, 0) < 0
	s := string(region)
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
		lr.line(strings.TrimSuffix(line, "\r"), clean, t)
	}
}

// line adds the records of one complete line.
func (lr *lineReader) line(raw string, clean bool, t time.Time) {
	text := func(s string) string {
		if clean {
			return s
		}
		return lr.sanitize(s)
	}
	switch {
	case lr.skip: // the tail of an oversize frame
		lr.skip = false
		return
	case lr.cont != "" && raw == "": // the line ended right after its last piece
		lr.cont = ""
		return
	case lr.cont == "" && !lr.stderr && strings.HasPrefix(raw, frameMarker):
		line := text(raw)
		p, ok := parseFrame(line[len(frameMarker):])
		switch {
		case !ok: // not a frame after all: a line of output
			lr.endPart()
			lr.add(t, runbooker.StreamOutput, line[1:], nil)
		case p.exception:
			lr.out.exception = &p.text
		default:
			lr.frame(t, p)
		}
		return
	}
	lr.endPart() // a plain line ends a continued frame record
	for len(raw) > lr.maxLine {
		cut := cutPoint(raw[:lr.maxLine])
		lr.piece(text(raw[:cut]), t)
		raw = raw[cut:]
	}
	lr.piece(text(raw), t)
	lr.cont = ""
}

// frame adds the record of one frame, joining continued frames of one
// stream into one record of at most maxFrame bytes of text; a longer text
// goes on in a new record of the same stream.
func (lr *lineReader) frame(t time.Time, p parsed) {
	if lr.part != nil && (lr.part.typ != p.typ || lr.part.text.Len()+len(p.text) > lr.maxFrame) {
		lr.endPart()
	}
	if lr.part == nil {
		if !p.more {
			lr.add(t, p.typ, p.text, p.value)
			return
		}
		lr.part = &partRecord{typ: p.typ, time: t}
	}
	lr.part.text.WriteString(p.text)
	if !p.more {
		part := lr.part
		lr.part = nil
		lr.add(part.time, part.typ, part.text.String(), p.value)
	}
}

// endPart adds the record being joined, if any, as it is.
func (lr *lineReader) endPart() {
	if part := lr.part; part != nil {
		lr.part = nil
		lr.add(part.time, part.typ, part.text.String(), nil)
	}
}

// piece adds one line or piece of a line. The first piece of a line decides
// the stream of all of them.
func (lr *lineReader) piece(text string, t time.Time) {
	if lr.cont == "" {
		lr.cont = runbooker.StreamError
		if !lr.stderr {
			lr.cont, text = classifyPlain(text)
		}
	}
	lr.add(t, lr.cont, text, nil)
}

func (lr *lineReader) add(t time.Time, typ runbooker.StreamType, text string, value []byte) {
	lr.out.recs = append(lr.out.recs, runbooker.StreamRecord{Time: t, Type: typ, Text: text, Value: value})
}

// cutPoint is where to end a piece of at most len(b) bytes: at len(b),
// unless that would cut a UTF-8 sequence in two. It looks at b only, so a
// line is cut the same way however it was read.
func cutPoint[T string | []byte](b T) int {
	n := len(b)
	for i := n - 1; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune([]byte(b[i:])) {
				return i
			}
			break
		}
	}
	return n
}

// sanitize is sanitizeString after reading a line that is not UTF-8 in
// the code page of lr.decode, when there is one.
func (lr *lineReader) sanitize(s string) string {
	if lr.decode != nil && !utf8.ValidString(s) {
		s = lr.decode(s)
	}
	return sanitizeString(s)
}

// sanitizeString converts s to a string that is valid UTF-8 without NUL
// bytes, which every store (PostgreSQL text in particular) and JSON can
// carry.
func sanitizeString(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
