package catalog

import (
	"fmt"
	"strconv"
	"strings"

	runbooker "github.com/runbooker/runbooker"
)

// layer is one customization source, parsed.
type layer struct {
	source string // ParseError.Source of its warnings
	root   *jnode
	src    []byte      // the text root was parsed from; nil when positions mean nothing
	header *headerJSON // set when src was cut out of a script: positions move to the script
	quiet  bool        // its warnings were reported elsewhere (Analyze)
}

type fieldState struct {
	Field
	fixed bool // context or caller: always hidden, whatever customization says
}

// move is a DisplayBefore/DisplayAfter request.
type move struct {
	f      *fieldState
	target string
	before bool
	l      *layer
	node   *jnode
}

type template struct {
	l      *layer
	values *jnode
}

type formBuilder struct {
	fields    []*fieldState
	moves     []move
	templates map[string]template // lower-cased $id
	filters   map[string]string   // lower-cased GraphFilters name
	settings  *jnode
	uiCount   int
	warnings  []runbooker.ParseError
}

// warn records a problem at node n of layer l.
func (b *formBuilder) warn(l *layer, n *jnode, format string, args ...any) {
	if l.quiet {
		return
	}
	w := runbooker.ParseError{Source: l.source, Message: fmt.Sprintf(format, args...)}
	if l.src != nil && n != nil {
		w.Line, w.Column = position(l.src, n.off)
		if l.header != nil {
			l.header.translate(&w)
		}
	}
	b.warnings = append(b.warnings, w)
}

func (b *formBuilder) build(meta runbooker.RunbookMeta, runbookName string, header, tenant *layer) (Form, []runbooker.ParseError) {
	scope := ""
	if n, err := ParseName(runbookName); err == nil {
		scope = n.Scope
	}
	for _, p := range meta.Parameters {
		b.fields = append(b.fields, baseField(p, meta, scope))
	}
	b.templates, b.filters = map[string]template{}, map[string]string{}
	for _, l := range []*layer{header, tenant} {
		if l == nil {
			continue
		}
		if l.root.kind != jObject {
			b.warn(l, l.root, "customization must be a JSON object")
			continue
		}
		b.collectShared(l)
	}
	if tenant != nil {
		b.settings = tenant.root.get("Settings")
	}
	for _, f := range b.fields {
		if f.Setting != "" {
			if v := lookupSetting(b.settings, f.Setting); v != nil {
				f.Default, f.DefaultExpr = typedValue(f.Type, v.toAny()), ""
			}
		}
	}
	if header != nil && header.root.kind == jObject {
		b.applyRunbook(header, header.root)
	}
	if tenant != nil && tenant.root.kind == jObject {
		if rbs := tenant.root.get("Runbooks"); rbs != nil && rbs.kind == jObject {
			for _, m := range rbs.obj {
				if strings.EqualFold(m.key, runbookName) {
					b.applyRunbook(tenant, m.val)
				}
			}
		}
	}
	b.order()
	form := Form{Runbook: runbookName, Fields: make([]Field, 0, len(b.fields))}
	for _, f := range b.fields {
		form.Fields = append(form.Fields, b.finish(f))
	}
	return form, b.warnings
}

// collectShared reads Templates and GraphFilters; a later layer replaces
// entries of the same name.
func (b *formBuilder) collectShared(l *layer) {
	if t := l.root.get("Templates"); t != nil {
		opts := t.get("Options")
		if opts == nil || opts.kind != jArray {
			b.warn(l, t, "Templates.Options must be an array of {\"$id\": …, \"$values\": […]}")
		} else {
			for _, o := range opts.arr {
				id, ok := o.get("$id").strValue()
				vals := o.get("$values")
				if !ok || vals == nil || vals.kind != jArray {
					b.warn(l, o, "an Options template needs a string \"$id\" and an array \"$values\"")
					continue
				}
				b.templates[strings.ToLower(id)] = template{l: l, values: vals}
			}
		}
	}
	if gf := l.root.get("GraphFilters"); gf != nil {
		if gf.kind != jObject {
			b.warn(l, gf, "GraphFilters must be an object of name → OData filter")
		}
		for _, m := range gf.obj {
			if s, ok := m.val.strValue(); ok {
				b.filters[strings.ToLower(m.key)] = s
			} else {
				b.warn(l, m.val, "GraphFilters.%s must be a string", m.key)
			}
		}
	}
}

// lookupSetting resolves a dotted attribute path in the tenant Settings.
func lookupSetting(settings *jnode, path string) *jnode {
	n := settings
	for _, seg := range strings.Split(path, ".") {
		if n = n.get(seg); n == nil {
			return nil
		}
	}
	return n
}

// field returns the field of the parameter named name (case-insensitive).
func (b *formBuilder) field(name string) *fieldState {
	for _, f := range b.fields {
		if !f.UIOnly && strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// applyRunbook applies one layer's customization of this runbook: the
// Parameters map, then the ParameterList, then runbook-wide name lists.
func (b *formBuilder) applyRunbook(l *layer, rb *jnode) {
	if rb.kind != jObject {
		b.warn(l, rb, "runbook customization must be a JSON object")
		return
	}
	if ps := rb.get("Parameters"); ps != nil {
		if ps.kind != jObject {
			b.warn(l, ps, "Parameters must be an object of parameter name → settings")
		}
		for _, m := range ps.obj {
			f := b.field(m.key)
			if f == nil {
				b.warn(l, m.val, "Parameters: the runbook has no parameter %q", m.key)
				continue
			}
			b.applyItem(l, f, m.val)
		}
	}
	if list := rb.get("ParameterList"); list != nil {
		if list.kind != jArray {
			b.warn(l, list, "ParameterList must be an array")
		}
		for _, item := range list.arr {
			b.applyListItem(l, item)
		}
	}
	for _, key := range []string{"Hide", "Show", "ReadOnly", "Mandatory"} {
		n := rb.get(key)
		if n == nil {
			continue
		}
		names, ok := n.stringList()
		if !ok {
			b.warn(l, n, "%s must be an array of parameter names", key)
			continue
		}
		for _, name := range names {
			f := b.field(name)
			if f == nil {
				b.warn(l, n, "%s: the runbook has no parameter %q", key, name)
				continue
			}
			switch key {
			case "Hide":
				f.Hidden = true
			case "Show":
				f.Hidden = false
			case "ReadOnly":
				f.ReadOnly = true
			case "Mandatory":
				f.Mandatory = true
			}
		}
	}
}

// applyListItem applies a ParameterList entry: with "Name" it customizes
// that parameter, without it adds a UI-only field.
func (b *formBuilder) applyListItem(l *layer, item *jnode) {
	if item.kind != jObject {
		b.warn(l, item, "a ParameterList entry must be an object")
		return
	}
	if nameNode := item.get("Name"); nameNode != nil {
		name, _ := nameNode.strValue()
		f := b.field(name)
		if f == nil {
			b.warn(l, nameNode, "ParameterList: the runbook has no parameter %q", name)
			return
		}
		b.applyItem(l, f, item)
		return
	}
	if item.get("Select") == nil && item.get("SelectSimple") == nil {
		b.warn(l, item, "a ParameterList entry without \"Name\" must be a Select or SelectSimple that changes other parameters")
		return
	}
	b.uiCount++
	f := &fieldState{Field: Field{Key: "ui:" + strconv.Itoa(b.uiCount), Label: "Option " + strconv.Itoa(b.uiCount), Control: ControlSelect, UIOnly: true}}
	b.fields = append(b.fields, f)
	b.applyItem(l, f, item)
}

// applyItem applies the modifiers of one customization entry to f.
func (b *formBuilder) applyItem(l *layer, f *fieldState, item *jnode) {
	if item.kind != jObject {
		b.warn(l, item, "the customization of %q must be an object", f.Key)
		return
	}
	boolOf := func(m jmember) (bool, bool) {
		v, ok := m.val.boolValue()
		if !ok {
			b.warn(l, m.val, "%s of %q must be true or false", m.key, f.Key)
		}
		return v, ok
	}
	for _, m := range item.obj {
		switch strings.ToLower(m.key) {
		case "displayname":
			if s, ok := m.val.strValue(); ok {
				f.Label = s
			} else {
				b.warn(l, m.val, "DisplayName of %q must be a string", f.Key)
			}
		case "description":
			if s, ok := m.val.strValue(); ok {
				f.Description = s
			} else {
				b.warn(l, m.val, "Description of %q must be a string", f.Key)
			}
		case "hide":
			if v, ok := boolOf(m); ok {
				f.Hidden = v
			}
		case "mandatory":
			if v, ok := boolOf(m); ok {
				f.Mandatory = v
			}
		case "readonly":
			if v, ok := boolOf(m); ok {
				f.ReadOnly = v
			}
		case "allowedit":
			if v, ok := boolOf(m); ok {
				f.AllowEdit = v
			}
		case "default", "defaultvalue":
			f.Default, f.DefaultExpr = typedValue(f.Type, m.val.toAny()), ""
		case "displaybefore", "displayafter":
			if s, ok := m.val.strValue(); ok {
				b.moves = append(b.moves, move{f: f, target: s, before: strings.EqualFold(m.key, "displaybefore"), l: l, node: m.val})
			} else {
				b.warn(l, m.val, "%s of %q must be a parameter name", m.key, f.Key)
			}
		case "graphfilter":
			b.applyGraphFilter(l, f, m.val)
		case "select":
			b.applySelect(l, f, m.val)
		case "selectsimple":
			b.applySelectSimple(l, f, m.val)
		}
	}
}

func (b *formBuilder) applyGraphFilter(l *layer, f *fieldState, n *jnode) {
	s, ok := n.strValue()
	if !ok {
		b.warn(l, n, "GraphFilter of %q must be a string", f.Key)
		return
	}
	if ref, isRef := strings.CutPrefix(s, "ref:"); isRef {
		resolved, found := b.filters[strings.ToLower(strings.TrimSpace(ref))]
		if !found {
			b.warn(l, n, "GraphFilter of %q refers to %q, which GraphFilters does not define", f.Key, ref)
			return
		}
		s = resolved
	}
	f.Filter = s
}
