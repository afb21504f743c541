package catalog

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/psparse"
)

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
func psCustomization(src []byte, text string, line int) *headerJSON {
	h := &headerJSON{text: []byte(text), line: line}
	scriptLines := strings.Split(string(src), "\n")
	for i, tl := range strings.Split(text, "\n") {
		col := 0
		if n := line - 1 + i; n >= 0 && n < len(scriptLines) && tl != "" {
			if at := strings.Index(scriptLines[n], tl); at >= 0 {
				col = utf8.RuneCountInString(scriptLines[n][:at])
			}
		}
		h.cols = append(h.cols, col)
	}
	return h
}

// refuseEmptyMandatoryDefaults drops a "" (or @()) default of a mandatory
// parameter, with a warning: PowerShell refuses to bind an empty string or
// array to a mandatory parameter, so passing that default (as jobs do for
// mandatory parameters, see runbooker.BindParameters) would fail every job
// that leaves the parameter out. Callers must give a value instead.
func refuseEmptyMandatoryDefaults(meta *runbooker.RunbookMeta) {
	for i := range meta.Parameters {
		p := &meta.Parameters[i]
		if !p.Mandatory || p.Default == nil || runbooker.UsableMandatoryDefault(*p) {
			continue
		}
		what := `""`
		if _, ok := p.Default.(string); !ok {
			what = "@()"
		}
		p.Default = nil
		meta.Warnings = append(meta.Warnings, runbooker.ParseError{Source: "script", Message: fmt.Sprintf(
			"parameter $%s is mandatory with the default %s, which PowerShell refuses for a mandatory parameter: "+
				"the default is ignored and callers must give a value", p.Name, what)})
	}
}
