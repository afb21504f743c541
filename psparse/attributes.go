package psparse

import (
	"math"
	"strconv"
	"strings"

	"github.com/runbooker/runbooker"
)

// attrState accumulates what the attributes of one declaration say.
type attrState struct {
	mandatory   bool
	helpMessage string
	set         []string
	rng         *runbooker.Range
	ui          *runbooker.UIHint
}

// attrArg is one argument of an attribute: Name = value, a bare Name
// (flag), or a positional value (name "").
type attrArg struct {
	name string // lower case
	flag bool
	val  []Token
}

// attribute applies one attribute, toks being "[Name" "(" … ")" "]".
func (p *paramParser) attribute(st *attrState, toks []Token) {
	if len(toks) < 3 || toks[1].Kind != LParen {
		return
	}
	args := attrArgs(toks[2:matching(toks, 1)])
	switch attributeName(toks[0].Value) {
	case "parameter":
		for _, a := range args {
			switch a.name {
			case "mandatory":
				if a.flag || truthy(a.val) {
					st.mandatory = true // mandatory in any parameter set
				}
			case "helpmessage":
				if v, ok := literal(a.val, 0); ok {
					if s, ok := v.(string); ok {
						st.helpMessage = s
					}
				}
			}
		}
	case "validateset":
		if st.set == nil {
			st.set = []string{}
		}
		for _, a := range args {
			if a.name == "" {
				st.set = appendLiteralStrings(st.set, a.val)
			}
		}
	case "validaterange":
		var pos [][]Token
		for _, a := range args {
			if a.name == "" {
				pos = append(pos, a.val)
			}
		}
		if r := validateRange(pos); r != nil {
			st.rng = r
		}
	case "validatescript":
		for _, a := range args {
			if a.name == "" {
				st.ui = mergeUI(st.ui, p.rjInterface(a.val))
			}
		}
	}
}

// attrArgs splits attribute arguments at top-level commas.
func attrArgs(toks []Token) []attrArg {
	var args []attrArg
	for _, item := range splitTop(toks, false) {
		item = trimCode(item)
		switch {
		case len(item) == 0:
		case len(item) >= 2 && (item[0].Kind == Word || item[0].Kind == Keyword) && item[1].Kind == Operator && item[1].Value == "=":
			args = append(args, attrArg{name: strings.ToLower(item[0].Text), val: item[2:]})
		case len(item) == 1 && item[0].Kind == Word:
			args = append(args, attrArg{name: strings.ToLower(item[0].Text), flag: true})
		default:
			args = append(args, attrArg{val: item})
		}
	}
	return args
}

// appendLiteralStrings adds the string form of a literal (or of each
// element of a literal array) to set.
func appendLiteralStrings(set []string, toks []Token) []string {
	v, ok := literal(toks, 0)
	if !ok {
		return set
	}
	switch x := v.(type) {
	case string:
		return append(set, x)
	case []string:
		return append(set, x...)
	case int64:
		return append(set, strconv.FormatInt(x, 10))
	case float64:
		return append(set, strconv.FormatFloat(x, 'g', -1, 64))
	case bool:
		return append(set, strconv.FormatBool(x))
	}
	return set
}

// validateRange reads ValidateRange(min, max) or ValidateRange("Positive").
func validateRange(pos [][]Token) *runbooker.Range {
	switch len(pos) {
	case 2:
		lo, ok1 := rangeBound(pos[0])
		hi, ok2 := rangeBound(pos[1])
		if ok1 && ok2 {
			return &runbooker.Range{Min: lo, Max: hi}
		}
	case 1:
		kind := ""
		if v, ok := literal(pos[0], 0); ok {
			kind, _ = v.(string)
		} else if t := trimCode(pos[0]); len(t) > 0 && t[len(t)-1].Kind == Word {
			kind = t[len(t)-1].Value // [ValidateRangeKind]::Positive
		}
		switch strings.ToLower(kind) {
		case "positive":
			return &runbooker.Range{Min: math.SmallestNonzeroFloat64, Max: math.MaxFloat64}
		case "nonnegative":
			return &runbooker.Range{Min: 0, Max: math.MaxFloat64}
		case "negative":
			return &runbooker.Range{Min: -math.MaxFloat64, Max: -math.SmallestNonzeroFloat64}
		case "nonpositive":
			return &runbooker.Range{Min: -math.MaxFloat64, Max: 0}
		}
	}
	return nil
}

// rangeBound evaluates a numeric bound: a number, a numeric string, or a
// constant such as [int]::MaxValue.
func rangeBound(toks []Token) (float64, bool) {
	toks = trimCode(toks)
	if v, ok := literal(toks, 0); ok {
		return toFloat(v)
	}
	if len(toks) == 3 && toks[0].Kind == Type && toks[1].Value == "::" && toks[2].Kind == Word {
		return typeConstant(toks[0].Value, toks[2].Value)
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return 0, false
}

// typeConstant knows MinValue and MaxValue of the numeric types.
func typeConstant(typ, member string) (float64, bool) {
	var lo, hi float64
	switch strings.TrimPrefix(strings.ToLower(typ), "system.") {
	case "int", "int32":
		lo, hi = math.MinInt32, math.MaxInt32
	case "long", "int64":
		lo, hi = math.MinInt64, math.MaxInt64
	case "short", "int16":
		lo, hi = math.MinInt16, math.MaxInt16
	case "byte":
		lo, hi = 0, math.MaxUint8
	case "sbyte":
		lo, hi = math.MinInt8, math.MaxInt8
	case "uint", "uint32":
		lo, hi = 0, math.MaxUint32
	case "ushort", "uint16":
		lo, hi = 0, math.MaxUint16
	case "ulong", "uint64":
		lo, hi = 0, math.MaxUint64
	case "double":
		lo, hi = -math.MaxFloat64, math.MaxFloat64
	case "float", "single":
		lo, hi = -math.MaxFloat32, math.MaxFloat32
	default:
		return 0, false
	}
	switch strings.ToLower(member) {
	case "minvalue":
		return lo, true
	case "maxvalue":
		return hi, true
	}
	return 0, false
}

// attributeName normalises an attribute's name: lower case, without
// namespace and without the "Attribute" suffix.
func attributeName(name string) string {
	n := strings.ToLower(name)
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		n = n[i+1:]
	}
	return strings.TrimSuffix(n, "attribute")
}

// isAttributeType reports whether a bracketed name without arguments is an
// attribute rather than a type constraint.
func isAttributeType(name string) bool {
	switch attributeName(name) {
	case "parameter", "cmdletbinding", "alias", "allownull", "allowemptystring", "allowemptycollection",
		"validatenotnull", "validatenotnullorempty", "validatenotnullorwhitespace", "validatecount",
		"validatelength", "validatepattern", "validaterange", "validatescript", "validateset",
		"validatedrive", "validateuserdrive", "validatetrusteddata", "supportswildcards",
		"psdefaultvalue", "obsolete", "outputtype", "argumentcompleter", "argumentcompletions",
		"pstypename", "experimental":
		return true
	}
	return false
}

// normalizeType maps a PowerShell type constraint to a ParamType.
func normalizeType(name string) runbooker.ParamType {
	switch strings.TrimPrefix(strings.ToLower(name), "system.") {
	case "string":
		return runbooker.TypeString
	case "bool", "boolean":
		return runbooker.TypeBool
	case "int", "int32", "int64", "long", "int16", "short", "byte", "sbyte",
		"uint", "uint32", "uint16", "ushort", "uint64", "ulong", "bigint", "numerics.biginteger":
		return runbooker.TypeInt
	case "double", "float", "single", "decimal":
		return runbooker.TypeFloat
	case "datetime", "datetimeoffset":
		return runbooker.TypeDateTime
	case "string[]":
		return runbooker.TypeStringArray
	case "switch", "switchparameter", "management.automation.switchparameter":
		return runbooker.TypeSwitch
	}
	return runbooker.TypeObject
}
