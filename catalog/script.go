package catalog

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/bashparse"
	"github.com/runbooker/runbooker/loosejson"
	"github.com/runbooker/runbooker/psparse"
	"github.com/runbooker/runbooker/pyparse"
)

// scriptMeta is what a language reader finds in a script, in one shape for
// all three languages; Analyze turns it into a RunbookMeta.
type scriptMeta struct {
	Synopsis, Description, Notes string
	Examples                     []string
	RequiredModules              []runbooker.Module
	Parameters                   []runbooker.Parameter
	Customization                *loosejson.Embedded // RunbookCustomization block, nil if none
}

// parseScript reads a script with the reader of its language. A reader may
// return metadata and an error together: what it read before the error.
func parseScript(lang runbooker.Language, src []byte) (*scriptMeta, error) {
	switch lang {
	case runbooker.LangPowerShell:
		return parsePowerShell(src)
	case runbooker.LangPython:
		md, err := pyparse.Parse(src)
		if md == nil {
			return nil, err
		}
		return &scriptMeta{
			Synopsis: md.Synopsis, Description: md.Description, Notes: md.Notes,
			Examples: md.Examples, Parameters: md.Parameters, Customization: md.Customization,
			RequiredModules: md.RequiredModules,
		}, err
	case runbooker.LangBash:
		md, err := bashparse.Parse(src)
		if md == nil {
			return nil, err
		}
		return &scriptMeta{
			Synopsis: md.Synopsis, Description: md.Description, Notes: md.Notes,
			Examples: md.Examples, Parameters: md.Parameters, Customization: md.Customization,
		}, err
	}
	return nil, nil
}

// parsePowerShell reads comment-based help, #Requires and the param block
// through package psparse.
func parsePowerShell(src []byte) (*scriptMeta, error) {
	md, err := psparse.Extract(src)
	if err != nil {
		return nil, err
	}
	meta := &scriptMeta{
		Synopsis: md.Synopsis, Description: md.Description, Notes: md.Notes,
		Examples: md.Examples, RequiredModules: md.RequiredModules, Parameters: md.Parameters,
	}
	if md.Customization != "" {
		meta.Customization = psCustomization(src, md.Customization, md.CustomizationLine)
	}
	return meta, nil
}

// psCustomization locates each line of the customization text in the
// script, so JSON errors point at script columns also when the help is
// written as `#` line comments (where psparse strips the `#`).
func psCustomization(src []byte, text string, line int) *loosejson.Embedded {
	h := &loosejson.Embedded{Text: []byte(text), Line: line}
	scriptLines := strings.Split(string(src), "\n")
	for i, tl := range strings.Split(text, "\n") {
		col := 0
		if n := line - 1 + i; n >= 0 && n < len(scriptLines) && tl != "" {
			if at := strings.Index(scriptLines[n], tl); at >= 0 {
				col = utf8.RuneCountInString(scriptLines[n][:at])
			}
		}
		h.Cols = append(h.Cols, col)
	}
	return h
}

// declarationPos finds where a parameter is declared, for warnings about
// the declaration: PowerShell `$Name` in the param block, Bash `@param
// Name`, Python `Name` in `def main(`. Zero when not found.
func declarationPos(lang runbooker.Language, src []byte, name string) (line, col int) {
	var start, decl *regexp.Regexp
	q := regexp.QuoteMeta(name)
	switch lang {
	case runbooker.LangPowerShell:
		start, decl = psParamBlock, regexp.MustCompile(`(?i)\$`+q+`\b`)
	case runbooker.LangBash:
		decl = regexp.MustCompile(`@param[ \t]+` + q + `\b`)
	case runbooker.LangPython:
		start, decl = pyMain, regexp.MustCompile(`\b`+q+`\b`)
	default:
		return 0, 0
	}
	from := 0
	if start != nil {
		loc := start.FindIndex(src)
		if loc == nil {
			return 0, 0
		}
		from = loc[1]
	}
	loc := decl.FindIndex(src[from:])
	if loc == nil {
		return 0, 0
	}
	off := from + loc[0]
	if lang == runbooker.LangBash {
		off += bytes.Index(src[off:], []byte(name))
	}
	return loosejson.Position(src, off)
}

var (
	psParamBlock = regexp.MustCompile(`(?i)\bparam\s*\(`)
	pyMain       = regexp.MustCompile(`\bdef\s+main\s*\(`)
)
