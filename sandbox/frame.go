package sandbox

import (
	"encoding/json"
	"strings"

	"github.com/runbooker/runbooker"
)

// frameMarker starts a structured frame line on stdout. The record separator
// control character makes an accidental match by ordinary output unlikely.
const frameMarker = "\x1eRB:"

// frameException is the frame type that carries the exception message.
const frameException = "Exception"

// prefixes are the Azure Linux worker's stream prefixes on stdout.
var prefixes = [...]struct {
	prefix string
	typ    runbooker.StreamType
}{
	{"VERBOSE: ", runbooker.StreamVerbose},
	{"WARNING: ", runbooker.StreamWarning},
	{"DEBUG: ", runbooker.StreamDebug},
	{"ERROR: ", runbooker.StreamError},
	{"PROGRESS: ", runbooker.StreamProgress},
	{"INFORMATION: ", runbooker.StreamInformation},
}

// parsed is one classified stdout line.
type parsed struct {
	typ       runbooker.StreamType
	text      string
	value     json.RawMessage
	exception bool // an Exception frame: text is the exception, not a record
	more      bool // the record's text continues in the next frame
}

// classifyPlain applies the stream prefixes to a line (or to the first piece
// of a split line).
func classifyPlain(line string) (runbooker.StreamType, string) {
	if line == "" {
		return runbooker.StreamOutput, line
	}
	switch line[0] { // cheap test first: most lines have no prefix
	case 'V', 'W', 'D', 'E', 'P', 'I':
		for _, p := range prefixes {
			if strings.HasPrefix(line, p.prefix) {
				return p.typ, line[len(p.prefix):]
			}
		}
	}
	return runbooker.StreamOutput, line
}

// frame is the JSON body of a frame line.
type frame struct {
	T     string          `json:"t"`
	Text  *string         `json:"text"`
	Value json.RawMessage `json:"value"`
	More  bool            `json:"more"`
}

func parseFrame(body string) (parsed, bool) {
	var f frame
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		return parsed{}, false
	}
	var p parsed
	if strings.EqualFold(f.T, frameException) {
		p.exception = true
	} else if t, ok := runbooker.ParseStreamType(f.T); ok {
		p.typ, p.more = t, f.More
	} else {
		return parsed{}, false
	}
	if len(f.Value) > 0 && string(f.Value) != "null" {
		p.value = f.Value
	}
	switch {
	case f.Text != nil:
		p.text = *f.Text
	case p.value != nil:
		p.text = string(p.value)
	}
	// JSON escapes can smuggle in what the line sanitizer removed.
	if strings.IndexByte(p.text, 0) >= 0 {
		p.text = strings.ReplaceAll(p.text, "\x00", "\uFFFD")
	}
	return p, true
}

// oneLine folds a multi-line message into one line for Result.Exception.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var b strings.Builder
	for i, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l)
	}
	return b.String()
}
