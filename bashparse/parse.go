// Package bashparse reads the metadata a Bash runbook declares in the
// comment block at the top of the script: synopsis, description, notes,
// examples, `@param` lines and the RunbookCustomization block. BASH_HEADER.md
// describes the convention for runbook authors.
package bashparse

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// customizationMarker introduces the customization JSON in a script header,
// as in RealmJoin's `.INPUTS` section.
const customizationMarker = "RunbookCustomization:"

var (
	bashKey     = regexp.MustCompile(`^ ?([A-Za-z]+):(?:\s+(.*))?$`)
	bashIdent   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	bashTypeMap = map[string]runbooker.ParamType{
		"string": runbooker.TypeString, "int": runbooker.TypeInt, "bool": runbooker.TypeBool,
		"float": runbooker.TypeFloat, "datetime": runbooker.TypeDateTime, "string[]": runbooker.TypeStringArray,
		"switch": runbooker.TypeSwitch, "object": runbooker.TypeObject,
	}
)

// Metadata is what a Bash runbook declares about itself.
type Metadata struct {
	Synopsis, Description, Notes string
	Examples                     []string
	// Parameters are the @param declarations; nil when there are none and
	// the script takes free-form --Name value arguments.
	Parameters []runbooker.Parameter
	// Customization is the RunbookCustomization block, nil if none.
	Customization *loosejson.Embedded
}

// bashLine is one line of the header comment block.
type bashLine struct {
	no   int    // 1-based script line
	text string // after the '#'
	col  int    // characters before text in the script line
}

// bashHeader returns the comment block at the top of a script, after the
// shebang; it ends at the first line that is neither blank nor a comment.
func bashHeader(src []byte) []bashLine {
	var out []bashLine
	for no, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if no == 0 && strings.HasPrefix(line, "#!") {
			continue
		}
		if trimmed == "" {
			out = append(out, bashLine{no: no + 1, col: utf8.RuneCountInString(line)})
			continue
		}
		if !strings.HasPrefix(trimmed, "#") {
			break
		}
		lead := len(line) - len(trimmed) + 1
		out = append(out, bashLine{no: no + 1, text: line[lead:], col: utf8.RuneCountInString(line[:lead])})
	}
	return out
}

// Parse reads the header comment block. Malformed @param lines are
// skipped and the first of them is returned as the error (a
// *runbooker.ParseError); everything else found is still returned, so the
// Metadata is never nil. Its cost is linear in the size of the script:
// duplicate names are found through a map, continuation lines are joined
// once, and only the first RunbookCustomization block is read.
func Parse(src []byte) (*Metadata, error) {
	meta := &Metadata{}
	lines := bashHeader(src)
	var firstErr error
	fail := func(e *runbooker.ParseError) {
		if firstErr == nil {
			firstErr = e
		}
	}
	var text continued            // what indented continuation lines extend
	declared := map[string]bool{} // parameter names, lower-cased
	for i := 0; i < len(lines); i++ {
		ln := lines[i]
		trimmed := strings.TrimSpace(ln.text)
		marker := strings.HasPrefix(trimmed, customizationMarker) && indentOf(ln.text) <= 1
		param := strings.HasPrefix(trimmed, "@param ") || trimmed == "@param"
		isContinuation := trimmed != "" && !marker && !param && text.target != nil &&
			len(ln.text)-len(strings.TrimLeft(ln.text, " \t")) >= 2
		if isContinuation {
			text.add(trimmed)
			continue
		}
		text.flush()
		switch {
		case trimmed == "":
		case marker:
			if meta.Customization != nil {
				fail(&runbooker.ParseError{Source: "script", Line: ln.no, Column: ln.col + 1,
					Message: "a second RunbookCustomization block; only one is read"})
				continue
			}
			i = bashCustomization(meta, lines, i) - 1
		case param:
			p, err := bashParam(ln)
			if err != nil {
				fail(err)
				continue
			}
			if key := strings.ToLower(p.Name); declared[key] {
				fail(&runbooker.ParseError{Source: "script", Line: ln.no, Column: ln.col + 1, Message: fmt.Sprintf("parameter %q declared twice", p.Name)})
				continue
			} else {
				declared[key] = true
			}
			meta.Parameters = append(meta.Parameters, p)
			text.start(&meta.Parameters[len(meta.Parameters)-1].Description, " ")
		default:
			m := bashKey.FindStringSubmatch(ln.text)
			if m == nil {
				continue // a free comment
			}
			val := strings.TrimSpace(m[2])
			switch strings.ToLower(m[1]) {
			case "synopsis":
				meta.Synopsis = val
				text.start(&meta.Synopsis, " ")
			case "description":
				meta.Description = val
				text.start(&meta.Description, "\n")
			case "notes", "note":
				meta.Notes = val
				text.start(&meta.Notes, "\n")
			case "example":
				meta.Examples = append(meta.Examples, val)
				text.start(&meta.Examples[len(meta.Examples)-1], "\n")
			}
		}
	}
	text.flush()
	return meta, firstErr
}

// continued collects the continuation lines of a text (a synopsis, a
// parameter's help) and joins them when the text ends, so a text of many
// lines costs no more than their length. target must stay valid until
// flush: it is flushed before the slice holding it grows.
type continued struct {
	target *string
	sep    string
	parts  []string
}

func (c *continued) start(target *string, sep string) {
	c.target, c.sep, c.parts = target, sep, c.parts[:0]
	if *target != "" {
		c.parts = append(c.parts, *target)
	}
}

func (c *continued) add(s string) { c.parts = append(c.parts, s) }

func (c *continued) flush() {
	if c.target != nil && len(c.parts) > 0 {
		*c.target = strings.Join(c.parts, c.sep)
	}
	c.target, c.parts = nil, c.parts[:0]
}

// bashCustomization cuts the JSON after `RunbookCustomization:` out of the
// comment lines starting at i and returns the index of the first line after
// it.
func bashCustomization(meta *Metadata, lines []bashLine, i int) int {
	first := lines[i]
	at := strings.Index(first.text, customizationMarker) + len(customizationMarker)
	var text strings.Builder
	text.WriteString(first.text[at:])
	h := &loosejson.Embedded{Line: first.no, Cols: []int{first.col + utf8.RuneCountInString(first.text[:at])}}
	for _, ln := range lines[i+1:] {
		text.WriteByte('\n')
		text.WriteString(ln.text)
		h.Cols = append(h.Cols, ln.col)
	}
	all := []byte(text.String())
	from, end := loosejson.Extent(all, 0)
	skipped := all[:from]
	h.Text = all[from:end]
	// The JSON may start on a later line than the marker.
	if nl := strings.Count(string(skipped), "\n"); nl > 0 {
		h.Line += nl
		h.Cols = h.Cols[nl:]
		h.Cols[0] += utf8.RuneCount(skipped[strings.LastIndexByte(string(skipped), '\n')+1:])
	} else {
		h.Cols[0] += utf8.RuneCount(skipped)
	}
	meta.Customization = h
	return i + 1 + strings.Count(string(all[:end]), "\n")
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
