package catalog

import (
	"bytes"
	"errors"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
	"github.com/runbooker/runbooker/pyparse"
)

// Limits on what one runbook may be. Past them a script is refused
// (EINVALID, a 400 through the API) rather than parsed and stored: the
// largest script of RealmJoin's public catalog is far below both.
const (
	MaxScriptSize = 2 << 20 // bytes of a script
	MaxParameters = 256     // parameters a script declares
)

// CheckScriptSize refuses a script of more than MaxScriptSize bytes.
func CheckScriptSize(name string, size int64) error {
	if size > MaxScriptSize {
		return runbooker.Errorf(runbooker.EINVALID, "runbook %q: the script is larger than the limit of %d bytes (2 MiB)", name, MaxScriptSize)
	}
	return nil
}

// AnalyzeInput is a runbook's source and side files.
type AnalyzeInput struct {
	Name        string             // runbook name, e.g. "rjgit-user_general_add-alias"
	FileName    string             // file the script came from; its extension picks the language
	Language    runbooker.Language // overrides FileName when set
	Content     []byte             // the script
	Permissions []byte             // <name>.permissions.json, optional
	Markdown    string             // <name>.md, optional
}

// Analyze reads a runbook's metadata. The error is only for an invalid
// name, an unknown language or a script past the limits (MaxScriptSize,
// MaxParameters): a script that does not parse still yields
// metadata (display name, flags, side files) with ParseError set, and a
// broken customization or permissions file is a warning.
func Analyze(in AnalyzeInput) (runbooker.RunbookMeta, runbooker.Language, error) {
	name, err := ParseName(in.Name)
	if err != nil {
		return runbooker.RunbookMeta{}, "", err
	}
	lang := in.Language
	if lang == "" {
		lang, _ = runbooker.LanguageFromExt(in.FileName)
	}
	if !lang.Valid() {
		return runbooker.RunbookMeta{}, "", runbooker.Errorf(runbooker.EINVALID, "runbook %q: unknown language %q (file %q); want .ps1, .py or .sh", in.Name, in.Language, in.FileName)
	}
	if err := CheckScriptSize(in.Name, int64(len(in.Content))); err != nil {
		return runbooker.RunbookMeta{}, "", err
	}
	meta := runbooker.RunbookMeta{
		DisplayName: name.DisplayName,
		Scheduled:   name.Scheduled,
		Hybrid:      name.Hybrid,
		Markdown:    in.Markdown,
		Parameters:  []runbooker.Parameter{},
	}
	sm, err := parseScript(lang, in.Content)
	if err != nil {
		var pe *runbooker.ParseError
		if !errors.As(err, &pe) {
			pe = &runbooker.ParseError{Message: err.Error()}
		}
		e := *pe
		if e.Source == "" {
			e.Source = "script"
		}
		meta.ParseError = &e
	}
	if sm != nil && len(sm.Parameters) > MaxParameters {
		return runbooker.RunbookMeta{}, "", runbooker.Errorf(runbooker.EINVALID, "runbook %q declares %d parameters, more than the limit of %d", in.Name, len(sm.Parameters), MaxParameters)
	}
	if sm != nil {
		meta.Synopsis, meta.Description, meta.Notes = sm.Synopsis, sm.Description, sm.Notes
		meta.Examples, meta.RequiredModules = sm.Examples, sm.RequiredModules
		if sm.Parameters != nil {
			meta.Parameters = sm.Parameters
		} else if lang != runbooker.LangPowerShell && err == nil {
			// A Python script without main() or a Bash script without
			// @param lines takes free-form --Name value arguments: nil
			// parameters mean "undeclared", so callers' values pass unchecked.
			meta.Parameters = nil
		}
	}
	if lang == runbooker.LangPython {
		_, problems := pyparse.Requirements(in.Content)
		for _, p := range problems {
			meta.Warnings = append(meta.Warnings, runbooker.ParseError{Source: "requirements", Message: p})
		}
	}
	if lang == runbooker.LangPowerShell {
		refuseEmptyMandatoryDefaults(&meta)
	}
	meta.ContextParameter = ContextParameter(name.Scope, meta.Parameters)
	if sm != nil {
		analyzeForm(&meta, in.Name, lang, in.Content, sm.Customization)
	}
	if len(bytes.TrimSpace(in.Permissions)) > 0 {
		if norm, err := loosejson.Normalize(in.Permissions); err != nil {
			meta.Warnings = append(meta.Warnings, asWarning("permissions", err))
		} else {
			meta.Permissions = norm
		}
	}
	return meta, lang, nil
}

// analyzeForm stores the script's customization (h, nil if none) as
// strict JSON and builds the form from the script alone, so problems of the
// customization and of the parameter declarations are reported once, here,
// at script positions.
func analyzeForm(meta *runbooker.RunbookMeta, name string, lang runbooker.Language, src []byte, h *loosejson.Embedded) {
	var header *layer
	if h != nil {
		root, err := loosejson.Parse(h.Text)
		if err != nil {
			w := asWarning("customization", err)
			h.Translate(&w)
			w.Message = "RunbookCustomization is not valid JSON: " + w.Message
			meta.Warnings = append(meta.Warnings, w)
		} else {
			meta.Customization = root.AppendJSON(nil)
			header = &layer{source: "customization", root: root, src: h.Text, header: h}
		}
	}
	b := &formBuilder{script: true, locate: func(param string) (int, int) { return declarationPos(lang, src, param) }}
	_, warnings := b.build(*meta, name, header, nil)
	meta.Warnings = append(meta.Warnings, warnings...)
}

func asWarning(source string, err error) runbooker.ParseError {
	var pe *runbooker.ParseError
	if !errors.As(err, &pe) {
		return runbooker.ParseError{Source: source, Message: err.Error()}
	}
	w := *pe
	w.Source = source
	return w
}
