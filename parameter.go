package runbooker

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ParamType is the normalised type of a runbook parameter, the same for all
// three languages.
type ParamType string

// Parameter types.
const (
	TypeString      ParamType = "string"
	TypeBool        ParamType = "bool"
	TypeInt         ParamType = "int"
	TypeFloat       ParamType = "float"
	TypeDateTime    ParamType = "datetime"
	TypeStringArray ParamType = "string[]"
	TypeSwitch      ParamType = "switch"
	TypeObject      ParamType = "object"
)

// Parameter is one declared parameter of a runbook.
type Parameter struct {
	Name          string    `json:"name"`
	Type          ParamType `json:"type"`
	Mandatory     bool      `json:"mandatory"`
	Default       any       `json:"default"`                     // typed literal default, or nil
	DefaultExpr   string    `json:"defaultExpression,omitempty"` // a default that is an expression, kept as text
	Description   string    `json:"description,omitempty"`
	ValidateSet   []string  `json:"validateSet"`
	ValidateRange *Range    `json:"validateRange"`
	UI            *UIHint   `json:"ui,omitempty"`
}

// Range is an inclusive numeric range from ValidateRange.
type Range struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// UIHint carries the arguments of RealmJoin's Use-RJInterface, which tell a
// portal which control to show for a parameter.
type UIHint struct {
	Type        string   `json:"type,omitempty"`   // Graph, Setting, Textarea, Number, DateTime
	Entity      string   `json:"entity,omitempty"` // User, Group, Device
	Attribute   string   `json:"attribute,omitempty"`
	Filter      string   `json:"filter,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Description string   `json:"description,omitempty"`
	Date        *bool    `json:"date,omitempty"`
	Time        *bool    `json:"time,omitempty"`
	MinValue    *float64 `json:"minValue,omitempty"`
	MaxValue    *float64 `json:"maxValue,omitempty"`
	Value       any      `json:"value,omitempty"`
}

// FindParameter returns the parameter named name, matched case-insensitively.
func FindParameter(params []Parameter, name string) (*Parameter, bool) {
	for i := range params {
		if strings.EqualFold(params[i].Name, name) {
			return &params[i], true
		}
	}
	return nil, false
}

// BindParameters checks the values a caller gave against the declared
// parameters and converts them to the declared types. Keys in the result use
// the declared spelling. CallerName is filled with caller when the runbook
// declares it and the request did not give it. The error is EINVALID and
// names the offending parameter.
func BindParameters(params []Parameter, input map[string]any, caller string) (map[string]any, error) {
	out := make(map[string]any, len(input)+1)
	keys := make([]string, 0, len(input))
	for k := range input {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic error for several bad values
	for _, k := range keys {
		p, ok := FindParameter(params, k)
		if !ok {
			return nil, Errorf(EINVALID, "unknown parameter %q", k)
		}
		if _, dup := out[p.Name]; dup {
			return nil, Errorf(EINVALID, "parameter %q given twice (names are case-insensitive)", p.Name)
		}
		v, err := ConvertValue(*p, input[k])
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue // an explicit null means "not given"
		}
		out[p.Name] = v
	}
	if caller != "" {
		if p, ok := FindParameter(params, "CallerName"); ok {
			if _, given := out[p.Name]; !given {
				out[p.Name] = caller
			}
		}
	}
	for _, p := range params {
		if _, given := out[p.Name]; given || !p.Mandatory {
			continue
		}
		// PowerShell ignores the default of a mandatory parameter and, run
		// non-interactively, fails when no value is passed: the default is
		// passed as the value instead.
		if !UsableMandatoryDefault(p) {
			if p.Default != nil || p.DefaultExpr != "" {
				return nil, Errorf(EINVALID, "missing mandatory parameter %q (its declared default cannot stand in for a value)", p.Name)
			}
			return nil, Errorf(EINVALID, "missing mandatory parameter %q", p.Name)
		}
		v, err := ConvertValue(p, p.Default)
		if err != nil {
			return nil, Errorf(EINVALID, "missing mandatory parameter %q (its default does not fit: %s)", p.Name, ErrorMessage(err))
		}
		out[p.Name] = v
	}
	return out, nil
}

// UsableMandatoryDefault reports whether a mandatory parameter's literal
// default can stand in for a value the caller left out. PowerShell refuses
// an empty string or an empty array for a mandatory parameter (unless it
// allows them explicitly), and a default that is an expression cannot be
// evaluated outside the runbook, so neither counts.
func UsableMandatoryDefault(p Parameter) bool {
	switch d := p.Default.(type) {
	case nil:
		return false
	case string:
		return d != ""
	case []string:
		return len(d) > 0
	case []any:
		return len(d) > 0
	}
	return true
}

// ConvertValue converts one given value to p's type and checks it against
// p's ValidateSet and ValidateRange. The result is in the representation of
// ParameterValue.
func ConvertValue(p Parameter, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	v = fromGoNumber(v)
	bad := func(format string, args ...any) error {
		return Errorf(EINVALID, "parameter %q: %s", p.Name, fmt.Sprintf(format, args...))
	}
	var out any
	switch p.Type {
	case TypeString:
		switch x := v.(type) {
		case string:
			out = x
		case float64, bool, json.Number:
			out = fmt.Sprint(x)
		default:
			return nil, bad("expected a string, got %s", jsonKind(v))
		}
	case TypeBool, TypeSwitch:
		switch x := v.(type) {
		case bool:
			out = x
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "1", "yes", "$true":
				out = true
			case "false", "0", "no", "$false", "":
				out = false
			default:
				return nil, bad("expected true or false, got %q", x)
			}
		case float64:
			if x != 0 && x != 1 {
				return nil, bad("expected true or false, got %v", x)
			}
			out = x == 1
		default:
			return nil, bad("expected true or false, got %s", jsonKind(v))
		}
	case TypeInt:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case json.Number:
			n, err := x.Int64()
			if err != nil {
				return nil, bad("expected an integer, got %s", x)
			}
			f = float64(n)
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, bad("expected an integer, got %q", x)
			}
			f = float64(n)
		default:
			return nil, bad("expected an integer, got %s", jsonKind(v))
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, bad("expected an integer, got %v", f)
		}
		out = int64(f)
	case TypeFloat:
		switch x := v.(type) {
		case float64:
			out = x
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return nil, bad("expected a number, got %s", x)
			}
			out = f
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, bad("expected a number, got %q", x)
			}
			out = f
		default:
			return nil, bad("expected a number, got %s", jsonKind(v))
		}
	case TypeDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, bad("expected an ISO-8601 date/time string, got %s", jsonKind(v))
		}
		t, err := ParseDateTime(s)
		if err != nil {
			return nil, bad("expected an ISO-8601 date/time, got %q", s)
		}
		out = t.Format(time.RFC3339Nano)
	case TypeStringArray:
		switch x := v.(type) {
		case []any:
			arr := make([]string, 0, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, bad("element %d: expected a string, got %s", i, jsonKind(e))
				}
				arr = append(arr, s)
			}
			out = arr
		case []string:
			out = x
		case string:
			out = []string{x}
		default:
			return nil, bad("expected an array of strings, got %s", jsonKind(v))
		}
	default: // object and unknown types pass through, in the one representation
		out = ParameterValue(v)
	}
	if err := checkValidation(p, out); err != nil {
		return nil, err
	}
	return ParameterValue(out), nil
}

func checkValidation(p Parameter, v any) error {
	if len(p.ValidateSet) > 0 {
		vals := []string{}
		switch x := v.(type) {
		case string:
			vals = append(vals, x)
		case []string:
			vals = x
		case int64:
			vals = append(vals, strconv.FormatInt(x, 10))
		case bool:
			vals = append(vals, strconv.FormatBool(x))
		}
		for _, s := range vals {
			found := false
			for _, allowed := range p.ValidateSet {
				if strings.EqualFold(s, allowed) { // PowerShell's ValidateSet ignores case by default
					found = true
					break
				}
			}
			if !found {
				return Errorf(EINVALID, "parameter %q: %q is not one of %s", p.Name, s, strings.Join(p.ValidateSet, ", "))
			}
		}
	}
	if r := p.ValidateRange; r != nil {
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case float64:
			f = x
		default:
			return nil
		}
		if f < r.Min || f > r.Max {
			return Errorf(EINVALID, "parameter %q: %v is outside the range %v..%v", p.Name, v, r.Min, r.Max)
		}
	}
	return nil
}

// ParseDateTime accepts the ISO-8601 forms callers send: full RFC 3339, and
// date-only or local date-time (taken as UTC).
func ParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO-8601 date/time: %q", s)
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// fromGoNumber turns the numbers of in-process callers (Go ints and
// float32) into the forms JSON decoding yields, which ConvertValue checks.
func fromGoNumber(v any) any {
	switch x := v.(type) {
	case int:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case int32:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case uint32:
		return json.Number(strconv.FormatUint(uint64(x), 10))
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case float32:
		return float64(x)
	}
	return v
}
