package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// MinMaskLength is the shortest secret that is masked. Masking a shorter
// one would shred ordinary output (every "no" or "123" in it); the job gets
// a Warning instead.
const MinMaskLength = 4

// masker replaces every secret a job has read, and the forms a runbook
// commonly turns it into, with "***".
//
// The forms of a secret s: s itself; s as a JSON string body (escaped as Go,
// Python, PowerShell 7 and Windows PowerShell 5.1 write it: minimal, HTML-
// safe, ASCII-only, with "\/"); s URL-encoded (query and path style); and s
// in Base64 (standard and URL alphabet) at each of the three byte offsets it
// may have inside a longer encoded text, without the edge characters that
// depend on its neighbours. A secret of several lines is also masked line
// by line, since each output line is a record of its own.
type masker struct {
	secrets func() []string
	seen    int
	forms   []string
	rep     *strings.Replacer
	warned  map[string]bool
}

func newMasker(secrets func() []string) *masker {
	return &masker{secrets: secrets}
}

// refresh learns the secrets read since the last call. It returns the
// warnings to add to the job's output (about secrets too short to mask).
func (m *masker) refresh() []string {
	if m == nil || m.secrets == nil {
		return nil
	}
	all := m.secrets()
	if len(all) <= m.seen {
		return nil
	}
	var notes []string
	for _, s := range all[m.seen:] {
		if s == "" {
			continue
		}
		if utf8.RuneCountInString(strings.TrimSpace(s)) < MinMaskLength {
			if m.warned == nil {
				m.warned = map[string]bool{}
			}
			if !m.warned[s] {
				m.warned[s] = true
				notes = append(notes, fmt.Sprintf("A secret value this job read is shorter than %d characters and is not masked in its output.", MinMaskLength))
			}
			continue
		}
		m.forms = append(m.forms, maskForms(s)...)
	}
	m.seen = len(all)
	slices.SortFunc(m.forms, func(a, b string) int { return len(b) - len(a) }) // longest first wins
	m.forms = slices.Compact(m.forms)
	pairs := make([]string, 0, 2*len(m.forms))
	for _, f := range m.forms {
		pairs = append(pairs, f, "***")
	}
	if len(pairs) > 0 {
		m.rep = strings.NewReplacer(pairs...)
	}
	return notes
}

// text masks s.
func (m *masker) text(s string) string {
	if m == nil || m.rep == nil || s == "" {
		return s
	}
	return m.rep.Replace(s)
}

// value masks a record's JSON value, keeping it valid JSON.
func (m *masker) value(v json.RawMessage) json.RawMessage {
	if m == nil || m.rep == nil || len(v) == 0 {
		return v
	}
	masked := m.rep.Replace(string(v))
	if masked == string(v) {
		return v
	}
	if json.Valid([]byte(masked)) {
		return json.RawMessage(masked)
	}
	// A form matched across an escape sequence: mask the decoded strings.
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return json.RawMessage(`"***"`)
	}
	out, err := json.Marshal(m.walk(doc))
	if err != nil {
		return json.RawMessage(`"***"`)
	}
	return out
}

func (m *masker) walk(x any) any {
	switch t := x.(type) {
	case string:
		return m.text(t)
	case []any:
		for i := range t {
			t[i] = m.walk(t[i])
		}
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[m.text(k)] = m.walk(e)
		}
		return out
	}
	return x
}

// maskForms lists the texts that give secret s away.
func maskForms(s string) []string {
	parts := []string{s}
	if strings.ContainsAny(s, "\r\n") {
		for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if utf8.RuneCountInString(strings.TrimSpace(line)) >= MinMaskLength {
				parts = append(parts, line)
			}
		}
	}
	var out []string
	for _, p := range parts {
		out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		out = append(out, jsonForms(p)...)
		out = append(out, base64Forms(p)...)
	}
	return slices.DeleteFunc(out, func(f string) bool { return utf8.RuneCountInString(f) < MinMaskLength })
}

// jsonForms are the bodies (without quotes) of s as JSON strings written by
// common encoders.
func jsonForms(s string) []string {
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	minimal := strings.TrimSuffix(plain.String(), "\n")
	minimal = minimal[1 : len(minimal)-1]
	html, _ := json.Marshal(s)
	htmlBody := string(html[1 : len(html)-1])
	return []string{
		minimal,
		htmlBody,
		strings.ReplaceAll(htmlBody, "'", `\u0027`), // Windows PowerShell 5.1
		strings.ReplaceAll(minimal, "/", `\/`),
		asciiJSON(minimal),
	}
}

// asciiJSON escapes every non-ASCII character of a JSON string body as
// \uXXXX (surrogate pairs above U+FFFF), as Python's json.dumps does.
func asciiJSON(body string) string {
	var b strings.Builder
	for _, r := range body {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// base64Forms are the stable middles of s's Base64 encoding at byte offsets
// 0, 1 and 2, in the standard and the URL alphabet.
func base64Forms(s string) []string {
	var out []string
	for k := 0; k < 3; k++ {
		buf := append(make([]byte, k), s...)
		enc := base64.StdEncoding.EncodeToString(buf)
		head := []int{0, 2, 3}[k] // characters that also hold the bytes before s
		tail := 0                 // characters that also hold the bytes after s
		switch len(buf) % 3 {
		case 1:
			tail = 3 // one mixed character and "=="
		case 2:
			tail = 2 // one mixed character and "="
		}
		if len(enc)-tail-head < 5 {
			continue
		}
		mid := enc[head : len(enc)-tail]
		out = append(out, mid, strings.NewReplacer("+", "-", "/", "_").Replace(mid))
	}
	return out
}
