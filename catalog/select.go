package catalog

import (
	"strings"

	"github.com/runbooker/runbooker/loosejson"
)

// applySelect reads `"Select": {"Options": [...] | {"$ref": id},
// "ShowValue": bool, "AllowEdit": bool}`. It replaces the options any lower
// source gave.
func (b *formBuilder) applySelect(l *layer, f *fieldState, sel *loosejson.Node) {
	if sel.Kind != loosejson.Object {
		b.warn(l, sel, "Select of %q must be an object with Options", f.Key)
		return
	}
	optsNode := sel.Get("Options")
	optLayer := l
	if ref := optsNode.Get("$ref"); ref != nil {
		id, _ := ref.StringValue()
		t, ok := b.templates[strings.ToLower(id)]
		if !ok {
			b.warn(l, ref, "Select of %q refers to template %q, which Templates.Options does not define", f.Key, id)
			return
		}
		optsNode, optLayer = t.values, t.l
	}
	if optsNode == nil || optsNode.Kind != loosejson.Array {
		b.warn(l, sel, "Select of %q needs Options: an array or {\"$ref\": \"<template id>\"}", f.Key)
		return
	}
	opts := make([]Option, 0, len(optsNode.Elems))
	for _, o := range optsNode.Elems {
		if opt, ok := b.option(optLayer, f, o); ok {
			opts = append(opts, opt)
		}
	}
	f.Options, f.optionsFrom = opts, b.at(l, sel)
	f.Control = ControlSelect
	for _, m := range sel.Members {
		switch strings.ToLower(m.Key) {
		case "showvalue", "allowedit":
			v, ok := m.Val.BoolValue()
			if !ok {
				b.warn(l, m.Val, "Select.%s of %q must be true or false", m.Key, f.Key)
				continue
			}
			if strings.EqualFold(m.Key, "ShowValue") {
				f.ShowValue = v
			} else {
				f.AllowEdit = v
			}
		}
	}
}

// option reads `{"Display": …, "ParameterValue"|"Value": …, "Customization":
// {"Hide": [...], "Show": [...], "Mandatory": [...], "ReadOnly": [...],
// "Default": {...}}}`.
// Without a value the display text is the value.
func (b *formBuilder) option(l *layer, f *fieldState, o *loosejson.Node) (Option, bool) {
	if o.Kind != loosejson.Object {
		b.warn(l, o, "an option of %q must be an object with Display", f.Key)
		return Option{}, false
	}
	var opt Option
	val := o.GetAny("ParameterValue", "Value")
	if val != nil {
		opt.Value = typedValue(f.Type, val.Value())
	}
	if d, ok := o.Get("Display").StringValue(); ok {
		opt.Display = d
	} else if val != nil && val.Kind != loosejson.Object && val.Kind != loosejson.Array {
		opt.Display = strings.Trim(string(val.AppendJSON(nil)), `"`)
	} else {
		b.warn(l, o, "an option of %q needs a Display text", f.Key)
		return Option{}, false
	}
	if val == nil {
		opt.Value = typedValue(f.Type, opt.Display)
	}
	if c := o.Get("Customization"); c != nil {
		opt.Customization = b.effect(l, f, c)
	}
	return opt, true
}

// effect reads an option's Customization, resolving parameter names. Its
// Default values are checked against their fields once every source is
// applied (resolveEffectDefaults).
func (b *formBuilder) effect(l *layer, f *fieldState, c *loosejson.Node) *OptionEffect {
	if c.Kind != loosejson.Object {
		b.warn(l, c, "an option's Customization of %q must be an object", f.Key)
		return nil
	}
	e := &OptionEffect{}
	pending := false
	for _, m := range c.Members {
		var list *[]string
		switch strings.ToLower(m.Key) {
		case "hide":
			list = &e.Hide
		case "show":
			list = &e.Show
		case "mandatory":
			list = &e.Mandatory
		case "readonly":
			list = &e.ReadOnly
		case "default":
			if m.Val.Kind != loosejson.Object {
				b.warn(l, m.Val, "Customization.Default in an option of %q must map parameter names to values", f.Key)
				continue
			}
			for _, d := range m.Val.Members {
				if t := b.field(d.Key); t != nil {
					b.effectDefaults = append(b.effectDefaults, effectDefault{e: e, target: t, l: l, n: d.Val, owner: f.Key})
					pending = true
				} else {
					b.warn(l, d.Val, "an option of %q sets a default for %q, which is not a parameter", f.Key, d.Key)
				}
			}
			continue
		default:
			b.warn(l, m.Val, "Customization.%s in an option of %q is not supported (Hide, Show, Mandatory, ReadOnly, Default are); it is ignored", m.Key, f.Key)
			continue
		}
		names, ok := m.Val.StringList()
		if !ok {
			b.warn(l, m.Val, "Customization.%s in an option of %q must be an array of parameter names", m.Key, f.Key)
			continue
		}
		for _, name := range names {
			if t := b.field(name); t != nil {
				*list = append(*list, t.Key)
			} else {
				b.warn(l, m.Val, "an option of %q names %q in %s, which is not a parameter", f.Key, name, m.Key)
			}
		}
	}
	if !pending && e.empty() {
		return nil
	}
	return e
}

func (e *OptionEffect) empty() bool {
	return e.Hide == nil && e.Show == nil && e.Mandatory == nil && e.ReadOnly == nil && e.Default == nil
}

// applySelectSimple reads `"SelectSimple": {"<display>": <value>, ...}`.
func (b *formBuilder) applySelectSimple(l *layer, f *fieldState, s *loosejson.Node) {
	if s.Kind != loosejson.Object {
		b.warn(l, s, "SelectSimple of %q must be an object of display text → value", f.Key)
		return
	}
	opts := make([]Option, 0, len(s.Members))
	for i, m := range s.Members {
		if laterKey(s.Members[i+1:], m.Key) {
			continue
		}
		opts = append(opts, Option{Display: m.Key, Value: typedValue(f.Type, m.Val.Value())})
	}
	f.Options, f.Control, f.optionsFrom = opts, ControlSelect, b.at(l, s)
}

// order applies DisplayBefore/DisplayAfter requests in the order they were
// made; a later request for the same field wins.
func (b *formBuilder) order() {
	last := map[*fieldState]int{}
	for i, m := range b.moves {
		last[m.f] = i
	}
	for i, m := range b.moves {
		if last[m.f] != i {
			continue
		}
		target := b.field(m.target)
		if target == nil {
			b.warn(m.l, m.node, "%q cannot be placed next to %q: no such parameter", m.f.Key, m.target)
			continue
		}
		if target == m.f {
			continue
		}
		rest := make([]*fieldState, 0, len(b.fields))
		for _, f := range b.fields {
			if f != m.f {
				rest = append(rest, f)
			}
		}
		for j, f := range rest {
			if f == target {
				at := j
				if !m.before {
					at = j + 1
				}
				rest = append(rest[:at], append([]*fieldState{m.f}, rest[at:]...)...)
				break
			}
		}
		b.fields = rest
	}
}

// finish settles the control and default of a field once all sources are
// applied.
func (b *formBuilder) finish(f *fieldState) Field {
	out := f.Field
	if f.fixed {
		out.Hidden, out.Control = true, ControlHidden
	}
	b.resolveDefault(f)
	out.Default, out.DefaultExpr = f.Default, f.DefaultExpr
	for i, o := range out.Options {
		if o.Customization != nil && o.Customization.empty() {
			out.Options[i].Customization = nil // every entry of its Default was refused
		}
	}
	switch {
	case out.Hidden && !f.fixed && !b.revealed(out.Key):
		out.Control = ControlHidden
	case out.ReadOnly && out.Control != ControlHidden:
		out.Control = ControlReadOnly
	}
	return out
}

// revealed reports whether a select option can show the field.
func (b *formBuilder) revealed(key string) bool {
	for _, f := range b.fields {
		for _, o := range f.Options {
			if o.Customization == nil {
				continue
			}
			for _, s := range o.Customization.Show {
				if s == key {
					return true
				}
			}
		}
	}
	return false
}

// laterKey reports whether key appears again among ms: of duplicate keys
// the last wins, as in a decoded object.
func laterKey(ms []loosejson.Member, key string) bool {
	for _, m := range ms {
		if m.Key == key {
			return true
		}
	}
	return false
}
