package psparse

import (
	"strings"

	"github.com/runbooker/runbooker"
)

// rjParams are the parameters of RealmJoin's Use-RJInterface (alias of
// Use-RjRbInterface); the first six also bind by position, in this order.
var rjParams = [...]string{"Type", "Entity", "Attribute", "Filter", "MinValue", "MaxValue",
	"Date", "Time", "DisplayName", "Description", "Value"}

const rjPositional = 6

// rjInterface finds calls of Use-RJInterface or Use-RjRbInterface in the
// tokens of a ValidateScript block, wherever they stand among its
// statements, and maps their arguments into a UIHint. It returns nil when
// there is no such call.
func (p *paramParser) rjInterface(toks []Token) *runbooker.UIHint {
	var hint *runbooker.UIHint
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Kind != Word || !(strings.EqualFold(t.Value, "Use-RJInterface") || strings.EqualFold(t.Value, "Use-RjRbInterface")) {
			continue
		}
		if hint == nil {
			hint = &runbooker.UIHint{}
		}
		i = p.rjArgs(hint, toks, i+1)
	}
	return hint
}

// rjArgs reads the arguments of one call, from toks[i] to the end of its
// statement, and returns the index where the statement ends.
func (p *paramParser) rjArgs(hint *runbooker.UIHint, toks []Token, i int) int {
	end, depth := i, 0
	for ; end < len(toks); end++ {
		t := toks[end]
		if t.opens() {
			depth++
		} else if t.closes() {
			if depth == 0 {
				break
			}
			depth--
		} else if depth == 0 && (t.Kind == Newline || t.Kind == Semicolon ||
			(t.Kind == Operator && (t.Value == "|" || t.Value == "&&" || t.Value == "||"))) {
			break
		}
	}
	var args []Token
	for _, t := range toks[i:end] {
		if !isComment(t) {
			args = append(args, t)
		}
	}
	pos := 0
	for k := 0; k < len(args); {
		a := args[k]
		if a.Kind != Parameter {
			val, next := argument(args, k)
			for pos < rjPositional && p.rjIsSet(hint, rjParams[pos]) {
				pos++
			}
			if pos < rjPositional {
				p.rjSet(hint, rjParams[pos], val)
				pos++
			}
			k = next
			continue
		}
		name := rjParamName(a.Value)
		colon := strings.HasSuffix(a.Text, ":")
		if (name == "Date" || name == "Time") && !colon {
			p.rjSet(hint, name, nil) // a switch: present means true
			k++
			continue
		}
		val, next := argument(args, k+1)
		if len(val) > 0 {
			p.rjSet(hint, name, val)
		}
		k = next
	}
	return end
}

// argument returns the argument starting at args[k] — one token, a
// bracketed group, or a signed number — and the index after it. It is
// empty when args[k] is the next -Parameter or the end.
func argument(args []Token, k int) ([]Token, int) {
	if k >= len(args) || args[k].Kind == Parameter {
		return nil, k
	}
	t := args[k]
	switch {
	case t.opens():
		e := matching(args, k)
		return args[k : e+1], e + 1
	case t.Kind == Operator && (t.Value == "-" || t.Value == "+") && k+1 < len(args) &&
		args[k+1].Kind == Number && args[k+1].Offset == t.End:
		return args[k : k+2], k + 2
	}
	return args[k : k+1], k + 1
}

// rjParamName resolves a parameter name as PowerShell does: exactly, or by
// an unambiguous prefix. Unknown names come back as given.
func rjParamName(name string) string {
	found := ""
	for _, n := range rjParams {
		if strings.EqualFold(n, name) {
			return n
		}
		if len(name) > 0 && len(name) < len(n) && strings.EqualFold(n[:len(name)], name) {
			if found != "" {
				return name // ambiguous
			}
			found = n
		}
	}
	if found != "" {
		return found
	}
	return name
}

func (p *paramParser) rjIsSet(h *runbooker.UIHint, name string) bool {
	switch name {
	case "Type":
		return h.Type != ""
	case "Entity":
		return h.Entity != ""
	case "Attribute":
		return h.Attribute != ""
	case "Filter":
		return h.Filter != ""
	case "MinValue":
		return h.MinValue != nil
	case "MaxValue":
		return h.MaxValue != nil
	}
	return false
}

// rjSet stores one argument; val nil means a switch given without value.
func (p *paramParser) rjSet(h *runbooker.UIHint, name string, val []Token) {
	switch name {
	case "Type":
		h.Type = p.text(val)
	case "Entity":
		h.Entity = p.text(val)
	case "Attribute":
		h.Attribute = p.text(val)
	case "Filter":
		h.Filter = p.text(val)
	case "DisplayName":
		h.DisplayName = p.text(val)
	case "Description":
		h.Description = p.text(val)
	case "Date", "Time":
		b := val == nil || truthy(val)
		if name == "Date" {
			h.Date = &b
		} else {
			h.Time = &b
		}
	case "MinValue", "MaxValue":
		v, ok := literal(val, 0)
		if !ok {
			return
		}
		if f, ok := toFloat(v); ok {
			if name == "MinValue" {
				h.MinValue = &f
			} else {
				h.MaxValue = &f
			}
		}
	case "Value":
		if v, ok := literal(val, 0); ok {
			h.Value = v
		} else {
			h.Value = p.text(val)
		}
	}
}

// text is the string an argument stands for: a string's or bare word's
// value, otherwise its source text.
func (p *paramParser) text(val []Token) string {
	if len(val) == 0 {
		return ""
	}
	if len(val) == 1 {
		switch val[0].Kind {
		case String, ExpandableString, HereString, ExpandableHereString, Word:
			return val[0].Value
		}
	}
	return string(p.src[val[0].Offset:val[len(val)-1].End])
}

// mergeUI fills the fields of a that b sets.
func mergeUI(a, b *runbooker.UIHint) *runbooker.UIHint {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if b.Type != "" {
		a.Type = b.Type
	}
	if b.Entity != "" {
		a.Entity = b.Entity
	}
	if b.Attribute != "" {
		a.Attribute = b.Attribute
	}
	if b.Filter != "" {
		a.Filter = b.Filter
	}
	if b.DisplayName != "" {
		a.DisplayName = b.DisplayName
	}
	if b.Description != "" {
		a.Description = b.Description
	}
	if b.Date != nil {
		a.Date = b.Date
	}
	if b.Time != nil {
		a.Time = b.Time
	}
	if b.MinValue != nil {
		a.MinValue = b.MinValue
	}
	if b.MaxValue != nil {
		a.MaxValue = b.MaxValue
	}
	if b.Value != nil {
		a.Value = b.Value
	}
	return a
}
