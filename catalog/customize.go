package catalog

import (
	"fmt"
	"strconv"
	"strings"

	runbooker "github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// layer is one customization source, parsed.
type layer struct {
	source string // ParseError.Source of its warnings
	root   *loosejson.Node
	src    []byte              // the text root was parsed from; nil when positions mean nothing
	header *loosejson.Embedded // set when src was cut out of a script: positions move to the script
	quiet  bool                // its warnings were reported elsewhere (Analyze)
}

type fieldState struct {
	Field
	fixed       bool        // context or caller: always hidden, whatever customization says
	defaults    []candidate // every source's default, in the order applied
	optionsFrom origin      // where Options came from (zero: the declaration's ValidateSet, or none)
}

// move is a DisplayBefore/DisplayAfter request.
type move struct {
	f      *fieldState
	target string
	before bool
	l      *layer
	node   *loosejson.Node
}

type template struct {
	l      *layer
	values *loosejson.Node
}

type formBuilder struct {
	fields         []*fieldState
	moves          []move
	templates      map[string]template // lower-cased $id
	filters        map[string]string   // lower-cased GraphFilters name
	settings       *loosejson.Node
	effectDefaults []effectDefault
	uiCount        int
	seq            int // orders origins
	warnings       []runbooker.ParseError

	// script is set by Analyze: report problems of the parameter
	// declarations, at the position locate gives (zero when unknown).
	script bool
	locate func(param string) (line, col int)
}

// warn records a problem at node n of layer l.
func (b *formBuilder) warn(l *layer, n *loosejson.Node, format string, args ...any) {
	if l.quiet {
		return
	}
	w := runbooker.ParseError{Source: l.source, Message: fmt.Sprintf(format, args...)}
	if l.src != nil && n != nil {
		w.Line, w.Column = loosejson.Position(l.src, n.Off)
		if l.header != nil {
			l.header.Translate(&w)
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
		b.fields = append(b.fields, b.baseField(p, meta, scope))
	}
	b.templates, b.filters = map[string]template{}, map[string]string{}
	for _, l := range []*layer{header, tenant} {
		if l == nil {
			continue
		}
		if l.root.Kind != loosejson.Object {
			b.warn(l, l.root, "customization must be a JSON object")
			continue
		}
		b.collectShared(l)
	}
	if tenant != nil {
		b.settings = tenant.root.Get("Settings")
	}
	for _, f := range b.fields {
		if f.Setting != "" {
			if v := lookupSetting(b.settings, f.Setting); v != nil {
				b.addDefault(f, tenant, v, fmt.Sprintf("the setting %q", f.Setting))
			}
		}
	}
	if header != nil && header.root.Kind == loosejson.Object {
		b.applyRunbook(header, header.root)
	}
	if tenant != nil && tenant.root.Kind == loosejson.Object {
		if rbs := tenant.root.Get("Runbooks"); rbs != nil && rbs.Kind == loosejson.Object {
			for _, m := range rbs.Members {
				if strings.EqualFold(m.Key, runbookName) {
					b.applyRunbook(tenant, m.Val)
				}
			}
		}
	}
	b.resolveEffectDefaults()
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
	if t := l.root.Get("Templates"); t != nil {
		opts := t.Get("Options")
		if opts == nil || opts.Kind != loosejson.Array {
			b.warn(l, t, "Templates.Options must be an array of {\"$id\": …, \"$values\": […]}")
		} else {
			for _, o := range opts.Elems {
				id, ok := o.Get("$id").StringValue()
				vals := o.Get("$values")
				if !ok || vals == nil || vals.Kind != loosejson.Array {
					b.warn(l, o, "an Options template needs a string \"$id\" and an array \"$values\"")
					continue
				}
				b.templates[strings.ToLower(id)] = template{l: l, values: vals}
			}
		}
	}
	if gf := l.root.Get("GraphFilters"); gf != nil {
		if gf.Kind != loosejson.Object {
			b.warn(l, gf, "GraphFilters must be an object of name → OData filter")
		}
		for _, m := range gf.Members {
			if s, ok := m.Val.StringValue(); ok {
				b.filters[strings.ToLower(m.Key)] = s
			} else {
				b.warn(l, m.Val, "GraphFilters.%s must be a string", m.Key)
			}
		}
	}
}

// lookupSetting resolves a dotted attribute path in the tenant Settings.
func lookupSetting(settings *loosejson.Node, path string) *loosejson.Node {
	n := settings
	for _, seg := range strings.Split(path, ".") {
		if n = n.Get(seg); n == nil {
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
func (b *formBuilder) applyRunbook(l *layer, rb *loosejson.Node) {
	if rb.Kind != loosejson.Object {
		b.warn(l, rb, "runbook customization must be a JSON object")
		return
	}
	if ps := rb.Get("Parameters"); ps != nil {
		if ps.Kind != loosejson.Object {
			b.warn(l, ps, "Parameters must be an object of parameter name → settings")
		}
		for _, m := range ps.Members {
			f := b.field(m.Key)
			if f == nil {
				b.warn(l, m.Val, "Parameters: the runbook has no parameter %q", m.Key)
				continue
			}
			b.applyItem(l, f, m.Val)
		}
	}
	if list := rb.Get("ParameterList"); list != nil {
		if list.Kind != loosejson.Array {
			b.warn(l, list, "ParameterList must be an array")
		}
		for _, item := range list.Elems {
			b.applyListItem(l, item)
		}
	}
	for _, key := range []string{"Hide", "Show", "ReadOnly", "Mandatory"} {
		n := rb.Get(key)
		if n == nil {
			continue
		}
		names, ok := n.StringList()
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
func (b *formBuilder) applyListItem(l *layer, item *loosejson.Node) {
	if item.Kind != loosejson.Object {
		b.warn(l, item, "a ParameterList entry must be an object")
		return
	}
	if nameNode := item.Get("Name"); nameNode != nil {
		name, _ := nameNode.StringValue()
		f := b.field(name)
		if f == nil {
			b.warn(l, nameNode, "ParameterList: the runbook has no parameter %q", name)
			return
		}
		b.applyItem(l, f, item)
		return
	}
	if item.Get("Select") == nil && item.Get("SelectSimple") == nil {
		b.warn(l, item, "a ParameterList entry without \"Name\" must be a Select or SelectSimple that changes other parameters")
		return
	}
	b.uiCount++
	f := &fieldState{Field: Field{Key: "ui:" + strconv.Itoa(b.uiCount), Label: "Option " + strconv.Itoa(b.uiCount), Control: ControlSelect, UIOnly: true}}
	b.fields = append(b.fields, f)
	b.applyItem(l, f, item)
}

// applyItem applies the modifiers of one customization entry to f.
func (b *formBuilder) applyItem(l *layer, f *fieldState, item *loosejson.Node) {
	if item.Kind != loosejson.Object {
		b.warn(l, item, "the customization of %q must be an object", f.Key)
		return
	}
	boolOf := func(m loosejson.Member) (bool, bool) {
		v, ok := m.Val.BoolValue()
		if !ok {
			b.warn(l, m.Val, "%s of %q must be true or false", m.Key, f.Key)
		}
		return v, ok
	}
	for _, m := range item.Members {
		switch strings.ToLower(m.Key) {
		case "displayname":
			if s, ok := m.Val.StringValue(); ok {
				f.Label = s
			} else {
				b.warn(l, m.Val, "DisplayName of %q must be a string", f.Key)
			}
		case "description":
			if s, ok := m.Val.StringValue(); ok {
				f.Description = s
			} else {
				b.warn(l, m.Val, "Description of %q must be a string", f.Key)
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
			b.addDefault(f, l, m.Val, m.Key)
		case "displaybefore", "displayafter":
			if s, ok := m.Val.StringValue(); ok {
				b.moves = append(b.moves, move{f: f, target: s, before: strings.EqualFold(m.Key, "displaybefore"), l: l, node: m.Val})
			} else {
				b.warn(l, m.Val, "%s of %q must be a parameter name", m.Key, f.Key)
			}
		case "graphfilter":
			b.applyGraphFilter(l, f, m.Val)
		case "select":
			b.applySelect(l, f, m.Val)
		case "selectsimple":
			b.applySelectSimple(l, f, m.Val)
		}
	}
}

func (b *formBuilder) applyGraphFilter(l *layer, f *fieldState, n *loosejson.Node) {
	s, ok := n.StringValue()
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
