package catalog

import (
	"strings"
	"unicode/utf8"

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
