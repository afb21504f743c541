package catalog

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// candidate is one source's default for a field. A field collects them in
// the order the sources are applied; the last one that fits the field
// becomes its default (see resolveDefault).
type candidate struct {
	value    any
	expr     string // DefaultExpr; only the declaration has one
	declared bool   // the parameter declaration's own default: its type is the script's business
	origin
	what string // the source in a warning: `Default`, `the setting "a.b"`
}

// origin is where a default or a set of options came from: a node of a
// customization layer, or (l == nil) the parameter declaration. seq orders
// origins by when they were applied.
type origin struct {
	l   *layer
	n   *loosejson.Node
	seq int
}

// effectDefault is a value an option's Customization.Default sets on
// another field, checked once every source is applied (the target's
// options may come later).
type effectDefault struct {
	e      *OptionEffect
	target *fieldState
	l      *layer
	n      *loosejson.Node
	owner  string // key of the select the option belongs to
}

// at returns a new origin at node n of layer l, later than all before.
func (b *formBuilder) at(l *layer, n *loosejson.Node) origin {
	b.seq++
	return origin{l: l, n: n, seq: b.seq}
}

// addDefault records a default given by a customization or a setting.
func (b *formBuilder) addDefault(f *fieldState, l *layer, n *loosejson.Node, what string) {
	f.defaults = append(f.defaults, candidate{value: n.Value(), origin: b.at(l, n), what: what})
}

// resolveDefault settles f's default: the latest candidate that fits.
// Candidates that do not fit are warned about and skipped, so a wrong
// setting or customization leaves the default of a lower source, or none.
func (b *formBuilder) resolveDefault(f *fieldState) {
	for i := len(f.defaults) - 1; i >= 0; i-- {
		c := f.defaults[i]
		v, problem := fitDefault(&f.Field, c.value, c.declared)
		if problem == "" {
			f.Default, f.DefaultExpr = v, c.expr
			return
		}
		o, what := c.origin, c.what
		if c.declared {
			what = "the declaration"
		}
		if f.optionsFrom.seq > o.seq {
			o = f.optionsFrom // the options came later: they made the default wrong
		}
		b.warnAt(o, f, "%s gives %q the default %s, which %s; it is ignored", what, f.Key, shortJSON(c.value), problem)
	}
	f.Default, f.DefaultExpr = nil, ""
}

// resolveEffectDefaults checks the values option customizations set on
// other fields, as resolveDefault checks a field's own default.
func (b *formBuilder) resolveEffectDefaults() {
	for _, d := range b.effectDefaults {
		v, problem := fitDefault(&d.target.Field, d.n.Value(), false)
		if problem != "" {
			b.warn(d.l, d.n, "an option of %q sets %q to %s, which %s; it is ignored", d.owner, d.target.Key, shortJSON(d.n.Value()), problem)
			continue
		}
		if d.e.Default == nil {
			d.e.Default = map[string]any{}
		}
		d.e.Default[d.target.Key] = v
	}
}

// fitDefault converts v to a value field f can hold, or says why it
// cannot: a select (without AllowEdit) holds one of its options' values,
// named by value or display text; any other field a value of its type.
// A declared default is trusted for its type: Analyze and the language
// readers vouch for it.
func fitDefault(f *Field, v any, declared bool) (any, string) {
	if v == nil {
		return nil, ""
	}
	if len(f.Options) > 0 {
		if o, ok := matchOption(f.Options, f.Type, v); ok {
			return o, ""
		}
		if !f.AllowEdit {
			return nil, "is not one of its options"
		}
	}
	if declared || f.Type == "" {
		return v, ""
	}
	c, err := runbooker.ConvertValue(runbooker.Parameter{Name: f.Key, Type: f.Type}, v)
	if err != nil {
		return nil, "is not " + typeWords(f.Type)
	}
	return c, ""
}

// matchOption finds the option v names: by value, then by display text,
// then either ignoring case, as PowerShell's ValidateSet does.
func matchOption(opts []Option, t runbooker.ParamType, v any) (any, bool) {
	tv := typedValue(t, v)
	for _, o := range opts {
		if reflect.DeepEqual(o.Value, tv) || reflect.DeepEqual(o.Value, v) {
			return o.Value, true
		}
	}
	s, ok := v.(string)
	if !ok {
		return nil, false
	}
	for _, o := range opts {
		if o.Display == s {
			return o.Value, true
		}
	}
	for _, o := range opts {
		if os, isStr := o.Value.(string); isStr && strings.EqualFold(os, s) || strings.EqualFold(o.Display, s) {
			return o.Value, true
		}
	}
	return nil, false
}

func typeWords(t runbooker.ParamType) string {
	switch t {
	case runbooker.TypeBool, runbooker.TypeSwitch:
		return "true or false"
	case runbooker.TypeInt:
		return "an integer"
	case runbooker.TypeFloat:
		return "a number"
	case runbooker.TypeDateTime:
		return "an ISO-8601 date/time"
	case runbooker.TypeStringArray:
		return "an array of strings"
	case runbooker.TypeString:
		return "a string"
	}
	return "a " + string(t)
}

// shortJSON renders a value for a warning, cut to a readable length.
func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if s := truncate(string(b), 60); len(s) < len(b) {
		return s + "…"
	}
	return string(b)
}

// warnAt records a problem at an origin: a customization node, or the
// parameter declaration.
func (b *formBuilder) warnAt(o origin, f *fieldState, format string, args ...any) {
	if o.l == nil {
		b.warnParam(f.Name, format, args...)
		return
	}
	b.warn(o.l, o.n, format, args...)
}

// warnParam records a problem of a parameter declaration. Only Analyze
// reports them (source "script"), once, in meta.Warnings; BuildForm, which
// serves that list beside the form, leaves them out.
func (b *formBuilder) warnParam(name, format string, args ...any) {
	if !b.script {
		return
	}
	w := runbooker.ParseError{Source: "script", Message: fmt.Sprintf(format, args...)}
	if b.locate != nil {
		w.Line, w.Column = b.locate(name)
	}
	b.warnings = append(b.warnings, w)
}
