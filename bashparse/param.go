package bashparse

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	runbooker "github.com/runbooker/runbooker"
)

// bashWord is a word of an @param line with its column.
type bashWord struct {
	text   string
	col    int // 1-based script column
	quoted bool
}

// bashWords splits s on blanks; "double quotes" group words. It stops at a
// lone "-", returning the rest of the line as the help text.
func bashWords(s string, col int) ([]bashWord, string, error) {
	var words []bashWord
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		start := i
		var b strings.Builder
		quoted := false
		for i < len(s) && s[i] != ' ' && s[i] != '\t' {
			if s[i] == '"' {
				quoted = true
				end := strings.IndexByte(s[i+1:], '"')
				if end < 0 {
					return nil, "", fmt.Errorf("%d:unterminated quote", col+utf8.RuneCountInString(s[:i]))
				}
				b.WriteString(s[i+1 : i+1+end])
				i += end + 2
				continue
			}
			b.WriteByte(s[i])
			i++
		}
		if !quoted && b.String() == "-" {
			return words, strings.TrimSpace(s[i:]), nil
		}
		words = append(words, bashWord{text: b.String(), col: col + utf8.RuneCountInString(s[:start]), quoted: quoted})
	}
	return words, "", nil
}

// bashParam parses `@param Name type [options] [- help text]`.
func bashParam(ln bashLine) (runbooker.Parameter, *runbooker.ParseError) {
	at := strings.Index(ln.text, "@param") + len("@param")
	base := ln.col + utf8.RuneCountInString(ln.text[:at]) + 1
	errAt := func(col int, format string, args ...any) *runbooker.ParseError {
		return &runbooker.ParseError{Source: "script", Line: ln.no, Column: col, Message: fmt.Sprintf(format, args...)}
	}
	words, help, err := bashWords(ln.text[at:], base)
	if err != nil {
		col, _ := strconv.Atoi(strings.SplitN(err.Error(), ":", 2)[0])
		return runbooker.Parameter{}, errAt(col, "@param: unterminated quote")
	}
	if len(words) == 0 || !bashIdent.MatchString(words[0].text) {
		col := base
		if len(words) > 0 {
			col = words[0].col
		}
		return runbooker.Parameter{}, errAt(col, "@param needs a parameter name (letters, digits, _), e.g. `@param UserName string mandatory - The user`")
	}
	p := runbooker.Parameter{Name: words[0].text, Type: runbooker.TypeString, Description: help}
	opts := words[1:]
	if len(opts) > 0 && !strings.Contains(opts[0].text, "=") && !isBashFlag(opts[0].text) {
		t, ok := bashTypeMap[strings.ToLower(opts[0].text)]
		if !ok {
			return p, errAt(opts[0].col, "@param %s: unknown type %q (want string, int, bool, float, datetime, string[], switch or object)", p.Name, opts[0].text)
		}
		p.Type, opts = t, opts[1:]
	}
	var def *bashWord
	for i, w := range opts {
		key, val, hasVal := strings.Cut(w.text, "=")
		switch k := strings.ToLower(key); {
		case !hasVal && (k == "mandatory" || k == "required"):
			p.Mandatory = true
		case !hasVal && k == "textarea":
			ui(&p).Type = "Textarea"
		case hasVal && k == "default":
			def = &opts[i]
		case hasVal && k == "set":
			p.ValidateSet = strings.Split(val, "|")
		case hasVal && k == "range":
			lo, hi, ok := strings.Cut(val, "..")
			min, err1 := strconv.ParseFloat(lo, 64)
			max, err2 := strconv.ParseFloat(hi, 64)
			if !ok || err1 != nil || err2 != nil || min > max {
				return p, errAt(w.col, "@param %s: range must be min..max, e.g. range=1..10", p.Name)
			}
			p.ValidateRange = &runbooker.Range{Min: min, Max: max}
		case hasVal && k == "entity":
			switch e := strings.ToLower(val); e {
			case "user", "group", "device":
				h := ui(&p)
				h.Type, h.Entity = "Graph", strings.ToUpper(e[:1])+e[1:]
			default:
				return p, errAt(w.col, "@param %s: entity must be user, group or device", p.Name)
			}
		case hasVal && k == "filter":
			ui(&p).Filter = val
		case hasVal && k == "label":
			ui(&p).DisplayName = val
		default:
			return p, errAt(w.col, "@param %s: unknown option %q (want mandatory, default=, set=, range=, entity=, filter=, label=, textarea, or \"-\" before the help text)", p.Name, w.text)
		}
	}
	if def != nil {
		v, err := bashDefault(p.Type, strings.SplitN(def.text, "=", 2)[1])
		if err != nil {
			return p, errAt(def.col, "@param %s: default %s", p.Name, err)
		}
		p.Default = v
	}
	return p, nil
}

func isBashFlag(s string) bool {
	switch strings.ToLower(s) {
	case "mandatory", "required", "textarea":
		return true
	}
	return false
}

func ui(p *runbooker.Parameter) *runbooker.UIHint {
	if p.UI == nil {
		p.UI = &runbooker.UIHint{}
	}
	return p.UI
}

// bashDefault types a default value by the parameter's type.
func bashDefault(t runbooker.ParamType, s string) (any, error) {
	switch t {
	case runbooker.TypeInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case runbooker.TypeFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case runbooker.TypeBool, runbooker.TypeSwitch:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case runbooker.TypeDateTime:
		if _, err := runbooker.ParseDateTime(s); err != nil {
			return nil, fmt.Errorf("%q is not an ISO-8601 date/time", s)
		}
		return s, nil
	case runbooker.TypeStringArray:
		if s == "" {
			return []string{}, nil
		}
		return strings.Split(s, ","), nil
	}
	return s, nil
}
