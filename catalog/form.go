package catalog

import (
	"bytes"
	"strings"
	"unicode"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// Form is the run form of a runbook after customization: an ordered list of
// fields a portal renders top to bottom. It is plain data, serialised as
// JSON; FORM.md describes every field.
type Form struct {
	Runbook string  `json:"runbook"`
	Fields  []Field `json:"fields"`
}

// Controls a field can have.
const (
	ControlText     = "text"
	ControlTextarea = "textarea"
	ControlNumber   = "number"
	ControlToggle   = "toggle"
	ControlDateTime = "datetime"
	ControlSelect   = "select"
	ControlEntity   = "entity"
	ControlHidden   = "hidden"
	ControlReadOnly = "readonly"
)

// Field is one entry of a Form: a runbook parameter, or a UI-only item (a
// select that only changes other fields) that is never submitted.
type Field struct {
	Key         string              `json:"key"`            // unique in the form: the parameter name, or "ui:<n>" for UI-only items
	Name        string              `json:"name,omitempty"` // parameter name as declared; empty for UI-only items
	Label       string              `json:"label"`
	Control     string              `json:"control"`
	Type        runbooker.ParamType `json:"type,omitempty"`
	Mandatory   bool                `json:"mandatory"`
	ReadOnly    bool                `json:"readOnly"`
	Hidden      bool                `json:"hidden"`
	Default     any                 `json:"default"`
	DefaultExpr string              `json:"defaultExpression,omitempty"`
	Description string              `json:"description,omitempty"`
	Options     []Option            `json:"options,omitempty"`
	ShowValue   bool                `json:"showValue,omitempty"`
	AllowEdit   bool                `json:"allowEdit,omitempty"`
	Entity      string              `json:"entity,omitempty"`  // user, group or device
	Filter      string              `json:"filter,omitempty"`  // OData filter for the entity picker
	Returns     string              `json:"returns,omitempty"` // directory attribute the picker or context field submits: id, userPrincipalName, displayName, …
	Min         *float64            `json:"min,omitempty"`
	Max         *float64            `json:"max,omitempty"`
	Date        *bool               `json:"date,omitempty"` // datetime: pick a date
	Time        *bool               `json:"time,omitempty"` // datetime: pick a time
	Setting     string              `json:"setting,omitempty"`
	Context     bool                `json:"context,omitempty"` // filled from the object the runbook is started on
	Caller      bool                `json:"caller,omitempty"`  // filled with the caller's name by the server
	UIOnly      bool                `json:"uiOnly,omitempty"`  // not a parameter; never submitted
}

// Option is one choice of a select field.
type Option struct {
	Display       string        `json:"display"`
	Value         any           `json:"value"`
	Customization *OptionEffect `json:"customization,omitempty"`
}

// OptionEffect changes other fields while its option is selected. Names are
// field keys (declared parameter spelling).
type OptionEffect struct {
	Hide      []string       `json:"hide,omitempty"`
	Show      []string       `json:"show,omitempty"`
	Mandatory []string       `json:"mandatory,omitempty"`
	ReadOnly  []string       `json:"readOnly,omitempty"`
	Default   map[string]any `json:"default,omitempty"`
}

// BuildForm builds the run form of a runbook from its parameters and the
// customization sources, in rising priority: the parameter declarations,
// the script's own RunbookCustomization (meta.Customization), and the
// tenant's customization JSON (Settings, Templates, GraphFilters and
// Runbooks.<runbookName>). Problems never fail: a broken or contradictory
// tenant customization yields warnings with positions and is skipped.
// Problems of the script's own customization are not repeated here: Analyze
// reports them, at script positions, in meta.Warnings.
func BuildForm(meta runbooker.RunbookMeta, runbookName string, tenantCustomization []byte) (Form, []runbooker.ParseError) {
	b := &formBuilder{}
	var header, tenant *layer
	if len(meta.Customization) > 0 {
		if root, err := loosejson.Parse(meta.Customization); err != nil {
			b.warnErr("customization", err)
		} else {
			header = &layer{source: "customization", root: root, quiet: true}
		}
	}
	if len(bytes.TrimSpace(tenantCustomization)) > 0 {
		if root, err := loosejson.Parse(tenantCustomization); err != nil {
			b.warnErr("tenant-customization", err)
		} else {
			tenant = &layer{source: "tenant-customization", root: root, src: tenantCustomization}
		}
	}
	return b.build(meta, runbookName, header, tenant)
}

func (b *formBuilder) warnErr(source string, err error) {
	pe, ok := err.(*runbooker.ParseError)
	if !ok {
		pe = &runbooker.ParseError{Message: err.Error()}
	}
	w := *pe
	w.Source = source
	b.warnings = append(b.warnings, w)
}

// baseField is the field a parameter declaration alone gives.
func (b *formBuilder) baseField(p runbooker.Parameter, meta runbooker.RunbookMeta, scope string) *fieldState {
	f := &fieldState{Field: Field{
		Key: p.Name, Name: p.Name, Label: humanize(p.Name), Type: p.Type,
		Mandatory: p.Mandatory, Description: p.Description,
	}}
	f.defaults = []candidate{{value: p.Default, expr: p.DefaultExpr, declared: true}}
	f.Control = typeControl(p.Type)
	if len(p.ValidateSet) > 0 {
		f.Control = ControlSelect
		for _, v := range p.ValidateSet {
			f.Options = append(f.Options, Option{Display: v, Value: typedValue(p.Type, v)})
		}
	}
	if r := p.ValidateRange; r != nil {
		f.Min, f.Max = &r.Min, &r.Max
	}
	if h := p.UI; h != nil {
		b.applyHint(f, h)
	}
	if f.Control == ControlDateTime && f.Date == nil && f.Time == nil {
		yes := true
		f.Date, f.Time = &yes, &yes
	}
	switch {
	case meta.ContextParameter != "" && strings.EqualFold(p.Name, meta.ContextParameter):
		f.Control, f.Hidden, f.Context, f.fixed = ControlHidden, true, true, true
		f.Entity = scope
		attr := ""
		if p.UI != nil && strings.EqualFold(p.UI.Type, "graph") {
			attr = p.UI.Attribute
		}
		f.Returns = contextReturns(scope, p.Name, attr)
	case strings.EqualFold(p.Name, "CallerName"):
		f.Control, f.Hidden, f.Caller, f.fixed = ControlHidden, true, true, true
	}
	return f
}

// typeControl is the control that edits a value of type t.
func typeControl(t runbooker.ParamType) string {
	switch t {
	case runbooker.TypeBool, runbooker.TypeSwitch:
		return ControlToggle
	case runbooker.TypeInt, runbooker.TypeFloat:
		return ControlNumber
	case runbooker.TypeDateTime:
		return ControlDateTime
	case runbooker.TypeStringArray, runbooker.TypeObject:
		return ControlTextarea
	}
	return ControlText
}

// applyHint applies Use-RJInterface arguments. A control that cannot edit
// the parameter's type is refused with a warning; the type's own control
// stays.
func (b *formBuilder) applyHint(f *fieldState, h *runbooker.UIHint) {
	control := ""
	switch strings.ToLower(h.Type) {
	case "graph":
		control = ControlEntity
	case "textarea":
		control = ControlTextarea
	case "number":
		control = ControlNumber
	case "datetime":
		control = ControlDateTime
	case "setting":
		f.Setting = h.Attribute
	}
	switch {
	case control == "":
	case !hintFits(control, f.Type):
		b.warnParam(f.Name, "parameter $%s is of type %s, which a %s control cannot edit: Use-RJInterface -Type %s is ignored and the field stays a %s",
			f.Name, f.Type, control, h.Type, f.Control)
	case control == ControlEntity:
		f.Control = ControlEntity
		f.Entity = strings.ToLower(h.Entity)
		if f.Entity == "" {
			f.Entity = "user"
		}
		f.Filter = h.Filter
		f.Returns = pickerReturns(f.Entity, f.Name, h.Attribute)
	default:
		f.Control = control
	}
	if h.DisplayName != "" {
		f.Label = h.DisplayName
	}
	if h.Description != "" {
		f.Description = h.Description
	}
	if h.MinValue != nil {
		f.Min = h.MinValue
	}
	if h.MaxValue != nil {
		f.Max = h.MaxValue
	}
	// Use-RJInterface -Date (or -Time) narrows the picker to that part.
	if h.Date != nil || h.Time != nil {
		d, t := h.Date != nil && *h.Date, h.Time != nil && *h.Time
		f.Date, f.Time = &d, &t
	}
}

// typedValue converts a textual choice to the parameter's type where that
// is lossless, so a select on an int parameter submits numbers.
func typedValue(t runbooker.ParamType, v any) any {
	switch x := v.(type) {
	case string:
		if t == runbooker.TypeInt || t == runbooker.TypeBool || t == runbooker.TypeFloat {
			if c, err := runbooker.ConvertValue(runbooker.Parameter{Name: "x", Type: t}, x); err == nil {
				return c
			}
		}
	case float64:
		if t == runbooker.TypeInt && x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}

// humanize turns a parameter name into a label: "MessageInternal" →
// "Message Internal", "delegate_to" → "Delegate To", "UPNSuffix" → "UPN
// Suffix".
func humanize(name string) string {
	rs := []rune(strings.ReplaceAll(name, "_", " "))
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && r != ' ' && rs[i-1] != ' ' && unicode.IsUpper(r) &&
			(unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
			b.WriteByte(' ')
		}
		if i == 0 || rs[i-1] == ' ' {
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
