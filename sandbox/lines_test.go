package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
)

var testEpoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// readAll runs a lineReader over data, delivered in reads of the given sizes
// (cycled; 0 means everything at once), and returns its records and the last
// exception frame.
func readAll(data []byte, stderr bool, maxLine, maxFrame int, sizes []int) ([]runbooker.StreamRecord, string) {
	lr := &lineReader{stderr: stderr, maxLine: maxLine, maxFrame: maxFrame, now: func() time.Time { return testEpoch }}
	var recs []runbooker.StreamRecord
	exc := ""
	lr.run(&chunkedReader{data: data, sizes: sizes}, func(c chunk) bool {
		recs = append(recs, c.recs...)
		if c.exception != nil {
			exc = *c.exception
		}
		return true
	})
	return recs, exc
}

type chunkedReader struct {
	data  []byte
	sizes []int
	i     int
}

func (r *chunkedReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if len(r.sizes) > 0 {
		if s := r.sizes[r.i%len(r.sizes)]; s > 0 {
			n = min(n, s)
		}
		r.i++
	}
	n = copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func TestLineReaderClassifies(t *testing.T) {
	type rec struct {
		typ   runbooker.StreamType
		text  string
		value string
	}
	tests := []struct {
		name string
		in   string
		want []rec
		exc  string
	}{
		{"plain", "a\nb", []rec{{"Output", "a", ""}, {"Output", "b", ""}}, ""},
		{"empty lines kept", "\n\nx\n", []rec{{"Output", "", ""}, {"Output", "", ""}, {"Output", "x", ""}}, ""},
		{"crlf", "a\r\nb\r\n", []rec{{"Output", "a", ""}, {"Output", "b", ""}}, ""},
		{"prefixes", "VERBOSE: v\nWARNING: w\nDEBUG: d\nERROR: e\nPROGRESS: p\nINFORMATION: i\n",
			[]rec{{"Verbose", "v", ""}, {"Warning", "w", ""}, {"Debug", "d", ""}, {"Error", "e", ""},
				{"Progress", "p", ""}, {"Information", "i", ""}}, ""},
		{"not prefixes", "WARNING:x\n warning: x\nwarning: x\nVERBOSE:\n",
			[]rec{{"Output", "WARNING:x", ""}, {"Output", " warning: x", ""}, {"Output", "warning: x", ""},
				{"Output", "VERBOSE:", ""}}, ""},
		{"empty prefixed", "WARNING: \n", []rec{{"Warning", "", ""}}, ""},
		{"frame with value", "\x1eRB:{\"t\":\"Output\",\"text\":\"2 users\",\"value\":[1,2]}\n",
			[]rec{{"Output", "2 users", "[1,2]"}}, ""},
		{"frame type any case", "\x1eRB:{\"t\":\"verbose\",\"text\":\"v\"}\n", []rec{{"Verbose", "v", ""}}, ""},
		{"frame multi-line text", "\x1eRB:{\"t\":\"Error\",\"text\":\"a\\nb\"}\n", []rec{{"Error", "a\nb", ""}}, ""},
		{"frame value only", "\x1eRB:{\"t\":\"Output\",\"value\":{\"a\":1}}\n", []rec{{"Output", `{"a":1}`, `{"a":1}`}}, ""},
		{"frame null value", "\x1eRB:{\"t\":\"Output\",\"text\":\"x\",\"value\":null}\n", []rec{{"Output", "x", ""}}, ""},
		{"frame NUL escape", "\x1eRB:{\"t\":\"Output\",\"text\":\"a\\u0000b\"}\n", []rec{{"Output", "a\uFFFDb", ""}}, ""},
		{"exception frame", "x\n\x1eRB:{\"t\":\"Exception\",\"text\":\"boom\"}\n", []rec{{"Output", "x", ""}}, "boom"},
		{"bad frame json", "\x1eRB:{nope\n", []rec{{"Output", "RB:{nope", ""}}, ""},
		{"bad frame type", "\x1eRB:{\"t\":\"Shout\",\"text\":\"x\"}\n", []rec{{"Output", "RB:{\"t\":\"Shout\",\"text\":\"x\"}", ""}}, ""},
		{"invalid utf8 and NUL", "a\xffb\x00c\n", []rec{{"Output", "a\uFFFDb\uFFFDc", ""}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, exc := readAll([]byte(tt.in), false, MaxLineBytes, MaxFrameBytes, nil)
			var got []rec
			for _, r := range recs {
				got = append(got, rec{r.Type, r.Text, string(r.Value)})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("records\n got %q\nwant %q", got, tt.want)
			}
			if exc != tt.exc {
				t.Errorf("exception %q, want %q", exc, tt.exc)
			}
		})
	}
}

func TestLineReaderStderrIsAllErrors(t *testing.T) {
	recs, _ := readAll([]byte("WARNING: w\n\x1eRB:{\"t\":\"Output\",\"text\":\"x\"}\nplain"), true, 64, 64, nil)
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	for _, r := range recs {
		if r.Type != runbooker.StreamError {
			t.Errorf("stderr record %q is %s, want Error", r.Text, r.Type)
		}
	}
	if recs[0].Text != "WARNING: w" {
		t.Errorf("stderr text %q was changed", recs[0].Text)
	}
}

func TestLineReaderSplitsLongLines(t *testing.T) {
	line := "WARNING: " + strings.Repeat("é", 20) // 9 + 40 bytes
	recs, _ := readAll([]byte(line+"\nnext\n"), false, 16, 64, []int{3})
	var joined strings.Builder
	for _, r := range recs[:len(recs)-1] {
		if r.Type != runbooker.StreamWarning {
			t.Errorf("piece %q is %s, want Warning", r.Text, r.Type)
		}
		if len(r.Text) > 16 || !utf8.ValidString(r.Text) {
			t.Errorf("piece %q: %d bytes or invalid UTF-8", r.Text, len(r.Text))
		}
		joined.WriteString(r.Text)
	}
	if want := strings.TrimPrefix(line, "WARNING: "); joined.String() != want {
		t.Errorf("pieces join to %q, want %q", joined.String(), want)
	}
	if last := recs[len(recs)-1]; last.Text != "next" || last.Type != runbooker.StreamOutput {
		t.Errorf("line after the long one: %+v", last)
	}
}

func TestLineReaderDropsOversizeFrame(t *testing.T) {
	frame := "\x1eRB:{\"t\":\"Output\",\"text\":\"" + strings.Repeat("x", 200) + "\"}"
	recs, _ := readAll([]byte("a\n"+frame+"\nb\n"), false, 16, 64, []int{7})
	if len(recs) != 3 || recs[0].Text != "a" || recs[1].Type != runbooker.StreamWarning || recs[2].Text != "b" {
		t.Fatalf("got %+v", recs)
	}
	if !strings.Contains(recs[1].Text, "longer than 64 bytes") {
		t.Errorf("warning %q does not name the limit", recs[1].Text)
	}
	// A frame that fits after the buffer grew is parsed.
	recs, _ = readAll([]byte(frame+"\n"), false, 16, 1024, []int{5})
	if len(recs) != 1 || recs[0].Text != strings.Repeat("x", 200) {
		t.Fatalf("big frame: got %+v", recs)
	}
}

// frameLine is a frame as the PowerShell host writes it.
func frameLine(typ, text string, more bool, value string) string {
	tb, _ := json.Marshal(text)
	s := "\x1eRB:{\"t\":\"" + typ + "\",\"text\":" + string(tb)
	if value != "" {
		s += ",\"value\":" + value
	}
	if more {
		s += ",\"more\":true"
	}
	return s + "}\n"
}

// A text too long for one frame comes in several frames marked "more"; they
// are joined into one record of at most MaxFrameBytes, with the value of the
// last frame.
func TestLineReaderJoinsContinuedFrames(t *testing.T) {
	type rec struct {
		typ         runbooker.StreamType
		text, value string
	}
	got := func(recs []runbooker.StreamRecord) []rec {
		var out []rec
		for _, r := range recs {
			out = append(out, rec{r.Type, r.Text, string(r.Value)})
		}
		return out
	}
	a, b, c := strings.Repeat("a", 50), strings.Repeat("ü", 25), strings.Repeat("c", 50) // 50 bytes each
	tests := []struct {
		name string
		in   string
		want []rec
	}{
		{"joined", frameLine("Output", a, true, "") + frameLine("Output", b, true, "") + frameLine("Output", "!", false, `{"k":1}`),
			[]rec{{"Output", a + b + "!", `{"k":1}`}}},
		{"split at the frame limit", frameLine("Error", a, true, "") + frameLine("Error", b, true, "") +
			frameLine("Error", c, true, "") + frameLine("Error", a, false, "7"),
			[]rec{{"Error", a + b, ""}, {"Error", c + a, "7"}}},
		{"another stream ends it", frameLine("Output", a, true, "") + frameLine("Warning", "w", false, "") + "plain\n",
			[]rec{{"Output", a, ""}, {"Warning", "w", ""}, {"Output", "plain", ""}}},
		{"a plain line ends it", frameLine("Output", a, true, "") + "plain\n" + frameLine("Output", c, false, ""),
			[]rec{{"Output", a, ""}, {"Output", "plain", ""}, {"Output", c, ""}}},
		{"a broken frame ends it", frameLine("Output", a, true, "") + "\x1eRB:{broken\n",
			[]rec{{"Output", a, ""}, {"Output", "RB:{broken", ""}}},
		{"end of output ends it", frameLine("Output", a, true, "") + frameLine("Output", c, true, ""),
			[]rec{{"Output", a + c, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sizes := range [][]int{nil, {7}} {
				recs, _ := readAll([]byte(tt.in), false, 16, 128, sizes)
				if g := got(recs); !reflect.DeepEqual(g, tt.want) {
					t.Errorf("reads %v:\n got %q\nwant %q", sizes, g, tt.want)
				}
			}
		})
	}
}

// FuzzLineReader checks that any input, however it is chunked, gives the
// same records as reading it at once, that every text is valid UTF-8 without
// NUL, and that stderr loses no byte of valid input.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nWARNING: b\r\n\x1eRB:{\"t\":\"Output\",\"text\":\"c\",\"value\":1}\n"), uint8(3), false)
	f.Add([]byte("\x1eRB:{\"t\":\"Exception\",\"text\":\"boom\"}\n\xff\xfe\x00"), uint8(1), false)
	f.Add([]byte(strings.Repeat("ü", 40)+"\n"+strings.Repeat("y", 70)), uint8(5), true)
	f.Add([]byte("\x1eRB:"+strings.Repeat("z", 100)+"\nok"), uint8(2), false)
	f.Add([]byte(frameLine("Output", "ab", true, "")+frameLine("Output", "cd", false, "1")), uint8(4), false)
	f.Fuzz(func(t *testing.T, data []byte, step uint8, stderr bool) {
		const maxLine, maxFrame = 16, 48
		whole, exc1 := readAll(data, stderr, maxLine, maxFrame, nil)
		sizes := []int{int(step%17) + 1, int(step/17) + 1, 1}
		chunked, exc2 := readAll(data, stderr, maxLine, maxFrame, sizes)
		if !reflect.DeepEqual(whole, chunked) || exc1 != exc2 {
			t.Fatalf("chunking changed the records:\nwhole   %+v\nchunked %+v", whole, chunked)
		}
		for _, r := range whole {
			if !utf8.ValidString(r.Text) || strings.IndexByte(r.Text, 0) >= 0 {
				t.Fatalf("text %q is not clean", r.Text)
			}
			if r.Value != nil && !json.Valid(r.Value) {
				t.Fatalf("value %q is not JSON", r.Value)
			}
		}
		if stderr && utf8.Valid(data) && !bytes.ContainsAny(data, "\r\x00") {
			var got strings.Builder
			for _, r := range whole {
				if len(r.Text) > maxLine {
					t.Fatalf("record of %d bytes exceeds the line limit", len(r.Text))
				}
				got.WriteString(r.Text)
			}
			if want := strings.ReplaceAll(string(data), "\n", ""); got.String() != want {
				t.Fatalf("stderr lost bytes: got %q, want %q", got.String(), want)
			}
		}
	})
}
