package pyparse

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/runbooker/runbooker/loosejson"
)

// customizationMarker introduces the customization JSON in a script header,
// as in RealmJoin's `.INPUTS` section.
const customizationMarker = "RunbookCustomization:"

var (
	googleHeader = regexp.MustCompile(`^([A-Za-z][A-Za-z ]*):\s*$`)
	googleArg    = regexp.MustCompile(`^\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.*)$`)
	numpyArg     = regexp.MustCompile(`^\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(?::.*)?$`)
)

// sectionKind maps a docstring section title to what it fills.
func sectionKind(title string) string {
	switch strings.ToLower(strings.TrimSpace(title)) {
	case "args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "other parameters":
		return "args"
	case "note", "notes":
		return "notes"
	case "example", "examples":
		return "examples"
	}
	return ""
}

func isDashes(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 3 && strings.Trim(s, "-") == ""
}

// readDocstring fills synopsis, description, notes, examples, parameter
// help and the customization block from a module docstring. Google style
// (`Args:` with indented entries) and NumPy style (`Parameters` underlined
// with dashes) are both understood.
func readDocstring(meta *Metadata, src []byte, doc string, raw pyToken) {
	if h, _, _, ok := findCustomization(src, raw.off, raw.off+len(raw.text)); ok {
		meta.Customization = h
		if at := strings.Index(doc, customizationMarker); at >= 0 {
			_, end := loosejson.Extent([]byte(doc), at+len(customizationMarker))
			doc = doc[:at] + doc[end:]
		}
	}
	var desc []string
	sections := map[string][]string{}
	kind, numpy := "", false
	lines := cleandoc(doc)
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if indentOf(line) == 0 && line != "" {
			if i+1 < len(lines) && isDashes(lines[i+1]) && !isDashes(line) {
				kind, numpy = sectionKind(line), true
				if kind != "" {
					i++
					continue
				}
			} else if m := googleHeader.FindStringSubmatch(line); m != nil && sectionKind(m[1]) != "" {
				kind, numpy = sectionKind(m[1]), false
				continue
			} else if !numpy {
				kind = "" // a Google section ends at the next unindented line
			}
		}
		if kind == "" {
			desc = append(desc, line)
		} else {
			sections[kind] = append(sections[kind], line)
		}
	}
	for len(desc) > 0 && desc[0] == "" {
		desc = desc[1:]
	}
	n := 0
	for n < len(desc) && strings.TrimSpace(desc[n]) != "" {
		n++
	}
	meta.Synopsis = strings.Join(strings.Fields(strings.Join(desc[:n], " ")), " ")
	meta.Description = strings.TrimSpace(strings.Join(desc[n:], "\n"))
	meta.Notes = strings.TrimSpace(strings.Join(dedent(sections["notes"]), "\n"))
	for _, para := range strings.Split(strings.Join(dedent(sections["examples"]), "\n"), "\n\n") {
		if para = strings.Trim(para, "\n"); strings.TrimSpace(para) != "" {
			meta.Examples = append(meta.Examples, para)
		}
	}
	meta.argDocs = argDocs(sections["args"], numpy)
}

// argDocs reads `name (type): text` (Google) or `name : type` followed by
// indented text (NumPy) entries; deeper-indented lines continue an entry.
func argDocs(lines []string, numpy bool) map[string]string {
	docs := map[string]string{}
	base := -1
	var cur string
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		ind := indentOf(line)
		if base < 0 {
			base = ind
		}
		text := strings.TrimSpace(line)
		if ind <= base {
			cur = ""
			if numpy {
				if m := numpyArg.FindStringSubmatch(text); m != nil {
					cur = strings.ToLower(m[1])
					docs[cur] = ""
				}
			} else if m := googleArg.FindStringSubmatch(text); m != nil {
				cur = strings.ToLower(m[1])
				docs[cur] = m[2]
			}
			continue
		}
		if cur != "" {
			docs[cur] = strings.TrimSpace(docs[cur] + " " + text)
		}
	}
	return docs
}

// dedent removes the common indentation of lines.
func dedent(lines []string) []string {
	margin := -1
	for _, l := range lines {
		if strings.TrimSpace(l) != "" && (margin < 0 || indentOf(l) < margin) {
			margin = indentOf(l)
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= margin && margin > 0 {
			l = l[margin:]
		}
		out[i] = l
	}
	return out
}

// applyArgDocs copies help texts onto the parameters they name.
func applyArgDocs(meta *Metadata) {
	for i := range meta.Parameters {
		if d := meta.argDocs[strings.ToLower(meta.Parameters[i].Name)]; d != "" {
			meta.Parameters[i].Description = d
		}
	}
}

// findCustomization locates `RunbookCustomization:` in src[lo:hi] and cuts
// out the JSON after it. The text is taken from the source as written, so
// positions map one to one.
func findCustomization(src []byte, lo, hi int) (h *loosejson.Embedded, cutFrom, cutTo int, ok bool) {
	i := bytes.Index(src[lo:hi], []byte(customizationMarker))
	if i < 0 {
		return nil, 0, 0, false
	}
	at := lo + i
	from, end := loosejson.Extent(src[:hi], at+len(customizationMarker))
	line, col := loosejson.Position(src, from)
	h = &loosejson.Embedded{Text: src[from:end], Line: line, Cols: []int{col - 1}}
	return h, at, end, true
}

// cleandoc removes a docstring's indentation the way inspect.cleandoc
// does: tabs expanded, the common indentation of all lines but the first
// removed, blank lines at either end dropped.
func cleandoc(doc string) []string {
	lines := strings.Split(strings.ReplaceAll(doc, "\t", "        "), "\n")
	margin := -1
	for _, l := range lines[1:] {
		if t := strings.TrimLeft(l, " "); t != "" {
			if ind := len(l) - len(t); margin < 0 || ind < margin {
				margin = ind
			}
		}
	}
	lines[0] = strings.TrimSpace(lines[0])
	for i := 1; i < len(lines); i++ {
		if margin > 0 && len(lines[i]) >= margin {
			lines[i] = lines[i][margin:]
		}
		lines[i] = strings.TrimRight(lines[i], " \r")
	}
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
