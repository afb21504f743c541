package psparse

import (
	"github.com/runbooker/runbooker"
)

// Metadata is what a runbook's source declares about itself.
type Metadata struct {
	Synopsis, Description, Notes string
	Examples                     []string
	Inputs                       string // raw .INPUTS text
	// Customization is the JSON text following "RunbookCustomization:"
	// inside .INPUTS (verbatim, may contain // comments and trailing
	// commas), "" if none. When several .INPUTS sections hold one, the
	// first wins.
	Customization     string
	CustomizationLine int // 1-based line in the script where that JSON starts
	RequiredModules   []runbooker.Module
	CmdletBinding     bool
	Parameters        []runbooker.Parameter
}

// Extract parses src. Broken input gives a *runbooker.ParseError (Source
// "script", 1-based Line and Column) — never a panic — and no Metadata:
// PowerShell refuses to run a script it cannot parse, so a partial form
// would only mislead.
//
// Help comes from the comment-based help block before the first statement
// (or after the last); modules from every #Requires -Modules line; the
// parameters from the script-level param block only, never from functions.
func Extract(src []byte) (*Metadata, error) {
	l := newLexer(src)
	if err := l.run(); err != nil {
		return nil, err
	}
	toks := l.toks
	md := &Metadata{}
	paramHelp := applyHelp(md, src, scriptHelp(toks))
	md.RequiredModules = requiredModules(toks)
	open, close, cmdlet, ok := paramBlock(toks)
	if !ok {
		md.Parameters = []runbooker.Parameter{}
		return md, nil
	}
	md.CmdletBinding = cmdlet
	p := &paramParser{src: src, toks: toks, pos: l.pos, help: paramHelp}
	params, perr := p.parse(open, close)
	if perr != nil {
		return nil, perr
	}
	md.Parameters = params
	return md, nil
}
