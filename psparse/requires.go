package psparse

import (
	"strings"

	"github.com/runbooker/runbooker"
)

// requiredModules collects the modules of every "#Requires -Modules …"
// comment in the script, in order, once per name (case-insensitive). A
// later mention fills in a version an earlier one lacked.
func requiredModules(toks []Token) []runbooker.Module {
	var mods []runbooker.Module
	for _, t := range toks {
		if t.Kind != LineComment || len(t.Value) < len("requires") || !strings.EqualFold(t.Value[:8], "requires") {
			continue
		}
		rest := t.Value[8:]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			continue // #RequiresFoo is just a comment
		}
		sub, err := Tokenize([]byte(rest))
		if err != nil {
			continue // PowerShell rejects the script; the tokenizer of the script body did not see it
		}
		for _, m := range requiresModules(sub) {
			mods = addModule(mods, m)
		}
	}
	return mods
}

func addModule(mods []runbooker.Module, m runbooker.Module) []runbooker.Module {
	for i := range mods {
		if strings.EqualFold(mods[i].Name, m.Name) {
			if mods[i].Version == "" {
				mods[i].Version, mods[i].Minimum = m.Version, m.Minimum
			}
			return mods
		}
	}
	return append(mods, m)
}

// requiresModules reads the module list after -Modules in the tokens of
// one #Requires line: names, quoted names and @{ModuleName=…} hashtables.
func requiresModules(toks []Token) []runbooker.Module {
	var mods []runbooker.Module
	i := 0
	for i < len(toks) && !(toks[i].Kind == Parameter && isModulesSwitch(toks[i].Value)) {
		i++
	}
	for i++; i < len(toks); i++ {
		t := toks[i]
		switch t.Kind {
		case Comma, ArrayExpression, RParen:
		case Word, String, ExpandableString:
			if name := strings.TrimSpace(t.Value); name != "" {
				mods = append(mods, runbooker.Module{Name: name})
			}
		case HashtableStart:
			end := matching(toks, i)
			if m := moduleSpec(toks[i+1 : end]); m.Name != "" {
				mods = append(mods, m)
			}
			i = end
		default:
			return mods // the next switch (-Version, …) or the end
		}
	}
	return mods
}

func isModulesSwitch(name string) bool {
	return strings.EqualFold(name, "modules") || strings.EqualFold(name, "module")
}

// moduleSpec reads the inside of @{ModuleName = "X"; ModuleVersion = "1.2"}.
// RequiredVersion wins over ModuleVersion.
func moduleSpec(toks []Token) runbooker.Module {
	var m runbooker.Module
	var required string
	for i := 0; i+1 < len(toks); i++ {
		if toks[i+1].Kind != Operator || toks[i+1].Value != "=" {
			continue
		}
		key := toks[i].Value
		j := i + 2
		var val strings.Builder
		for ; j < len(toks) && toks[j].Kind != Semicolon && toks[j].Kind != Newline; j++ {
			if toks[j].Kind == String || toks[j].Kind == ExpandableString {
				val.WriteString(toks[j].Value)
			} else {
				val.WriteString(toks[j].Text)
			}
		}
		switch v := strings.TrimSpace(val.String()); strings.ToLower(key) {
		case "modulename":
			m.Name = v
		case "moduleversion":
			m.Version, m.Minimum = v, v != ""
		case "requiredversion":
			required = v
		}
		i = j
	}
	if required != "" {
		m.Version, m.Minimum = required, false
	}
	return m
}

// matching returns the index of the token that closes the opener at
// toks[i], or the last index when the input is unbalanced.
func matching(toks []Token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		if toks[j].opens() {
			depth++
		} else if toks[j].closes() {
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks) - 1
}

// RequiredModules reads only the #Requires -Modules lines of a script, for
// callers that need no other metadata (the engine, when a job is
// claimed). A script the lexer cannot read requires nothing: PowerShell
// itself refuses to run it.
func RequiredModules(src []byte) []runbooker.Module {
	toks, err := Tokenize(src)
	if err != nil {
		return nil
	}
	return requiredModules(toks)
}
