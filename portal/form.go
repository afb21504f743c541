package portal

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/directory"
)

// A run form is the API's catalog.Form (FORM.md) turned into what the page
// shows: each field's text, whether it is hidden and mandatory now, and its
// error. The same rules decide the state in the browser (app.js) and here,
// where a form posted without JavaScript is judged: a select's chosen option
// hides, shows and makes mandatory other fields (settle), hidden and
// read-only fields submit their default, never what was posted.

// inputPrefix starts the HTML name of every field's control, so no
// parameter can collide with the page's own fields (csrf, runOn).
const inputPrefix = "p."

// runForm is the state of a run form.
type runForm struct {
	Fields []*runField
	// Target is the object the runbook is started on (nil: none, or an org
	// runbook); it fills the context field.
	Target *directory.Object
	byKey  map[string]*runField
}

// runField is one field of a run form as the page shows it.
type runField struct {
	catalog.Field
	HID    string // its key as an id part: the control is "f-"+HID, its wrapper "w-"+…, help "h-"+…, error "e-"+…
	ID     string // the id of its control
	Input  string // the HTML name of its control
	Value  string // the control's text (datetime: "2006-01-02T15:04" or the date alone)
	Hide   bool   // hidden now, with the options chosen
	Need   bool   // mandatory now
	Stable bool   // mandatory whatever is chosen: the page marks it required even without JavaScript
	Error  string
	// Picker tells the page to show an entity picker for a context field
	// that has no target to fill it.
	Picker bool
	// Effects is the JSON app.js reads from a select whose options change
	// other fields ("" when none do).
	Effects string
	// Picks are the first directory objects an entity picker offers
	// before anything is typed (and without JavaScript).
	Picks []pick
}

// newRunForm prepares a form for its first showing: every field holds its
// default and the default options' effects, defaults included, apply.
func newRunForm(f catalog.Form, target *directory.Object) *runForm {
	rf := &runForm{Target: target, byKey: map[string]*runField{}}
	for _, fd := range f.Fields {
		x := &runField{Field: fd, HID: htmlID(fd.Key), Input: inputPrefix + fd.Key}
		x.ID = "f-" + x.HID
		if fd.Context && target == nil {
			// Started without an object (a direct link): let the person pick one.
			x.Picker, x.Control, x.Hidden, x.Mandatory = true, catalog.ControlEntity, false, true
			if x.Returns == "" {
				x.Returns = contextReturns(fd)
			}
		}
		x.Value = textOf(x.Field, fd.Default)
		if fd.Context && target != nil {
			x.Value = contextValue(fd, target)
		}
		rf.Fields = append(rf.Fields, x)
		rf.byKey[fd.Key] = x
	}
	for _, x := range rf.Fields {
		x.Effects = rf.effects(x)
		x.Stable = x.Mandatory && !x.Hidden && !rf.hideable(x.Key) && x.Control != catalog.ControlToggle &&
			x.Control != catalog.ControlHidden && x.Control != catalog.ControlReadOnly
	}
	rf.settle(true)
	return rf
}

// hideable reports whether some option can hide the field.
func (rf *runForm) hideable(key string) bool {
	for _, x := range rf.Fields {
		for _, o := range x.Options {
			if o.Customization != nil && containsKey(o.Customization.Hide, key) {
				return true
			}
		}
	}
	return false
}

func containsKey(keys []string, key string) bool {
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// field finds a field by key, as option effects name them.
func (rf *runForm) field(key string) *runField {
	if x, ok := rf.byKey[key]; ok {
		return x
	}
	for _, x := range rf.Fields {
		if strings.EqualFold(x.Key, key) {
			return x
		}
	}
	return nil
}

// read takes the values of a posted form. Hidden fields are settled after,
// from the posted selects, and keep their defaults whatever was posted.
func (rf *runForm) read(vals url.Values) {
	for _, x := range rf.Fields {
		if !x.editable() {
			continue
		}
		switch x.Control {
		case catalog.ControlToggle:
			x.Value = strconv.FormatBool(vals.Get(x.Input) != "")
		case catalog.ControlDateTime:
			d, t := strings.TrimSpace(vals.Get(x.Input+".date")), strings.TrimSpace(vals.Get(x.Input+".time"))
			x.Value = joinDateTime(x.Field, d, t)
		default:
			x.Value = vals.Get(x.Input)
		}
	}
	rf.settle(false)
	for _, x := range rf.Fields {
		if x.Hide && x.editable() {
			x.Value = textOf(x.Field, x.Default) // what a hidden field submits
		}
	}
}

// editable reports whether the person can give the field a value.
func (x *runField) editable() bool {
	return x.Control != catalog.ControlHidden && x.Control != catalog.ControlReadOnly && !x.ReadOnly
}

// settle computes which fields are hidden and mandatory: from each field's
// own flags, then each select's chosen option in form order (a select
// that is hidden counts with its default). withDefaults also sets the
// chosen options' default values, as on a form's first showing. app.js
// does the same in the browser.
func (rf *runForm) settle(withDefaults bool) {
	for _, x := range rf.Fields {
		x.Hide = x.Hidden || x.Control == catalog.ControlHidden
		x.Need = x.Mandatory
	}
	for _, x := range rf.Fields {
		if len(x.Options) == 0 {
			continue
		}
		text := x.Value
		if x.Hide {
			text = textOf(x.Field, x.Default)
		}
		o := x.option(text)
		if o == nil || o.Customization == nil {
			continue
		}
		e := o.Customization
		for _, k := range e.Hide {
			if y := rf.field(k); y != nil {
				y.Hide = true
			}
		}
		for _, k := range e.Show {
			if y := rf.field(k); y != nil && y.Control != catalog.ControlHidden {
				y.Hide = false
			}
		}
		for _, k := range e.Mandatory {
			if y := rf.field(k); y != nil {
				y.Need = true
			}
		}
		if withDefaults {
			for k, v := range e.Default {
				if y := rf.field(k); y != nil && !y.Context && !y.Caller {
					y.Value = textOf(y.Field, v)
				}
			}
		}
	}
}

// option finds the option a select's text chooses: by value, or by
// display text (a combo box's free text may be either).
func (x *runField) option(text string) *catalog.Option {
	for i, o := range x.Options {
		if textOf(x.Field, o.Value) == text {
			return &x.Options[i]
		}
	}
	for i, o := range x.Options {
		if o.Display == text {
			return &x.Options[i]
		}
	}
	return nil
}

// params builds the run request's parameters, converting each value to its
// parameter's type. Problems the portal can see itself (an empty mandatory
// field, a number that is none, JSON that is not) are set as the fields'
// errors and make ok false.
func (rf *runForm) params() (out map[string]any, ok bool) {
	out = map[string]any{}
	ok = true
	for _, x := range rf.Fields {
		switch {
		case x.UIOnly || x.Caller || x.Name == "":
			continue
		case x.Context && rf.Target != nil:
			out[x.Name] = contextValue(x.Field, rf.Target)
			continue
		case x.Hide || !x.editable():
			if x.Default != nil {
				out[x.Name] = x.Default
			}
			continue
		}
		if x.Control == catalog.ControlToggle {
			out[x.Name] = x.Value == "true"
			continue
		}
		if strings.TrimSpace(x.Value) == "" {
			if x.Need {
				x.Error, ok = "Please fill this in.", false
			}
			continue
		}
		var v any
		if o := x.option(x.Value); o != nil {
			v = o.Value
		} else {
			var err error
			if v, err = convertText(x.Field, x.Value); err != nil {
				x.Error, ok = err.Error(), false
				continue
			}
		}
		out[x.Name] = v
	}
	return out, ok
}

// Choices are a select's options with the one chosen marked.
func (x *runField) Choices() []choice {
	out := make([]choice, 0, len(x.Options)+1)
	found := false
	for _, o := range x.Options {
		c := choice{Value: textOf(x.Field, o.Value), Text: o.Display}
		if x.ShowValue && c.Value != o.Display {
			c.Text += " (" + c.Value + ")"
		}
		c.Selected = !found && c.Value == x.Value
		found = found || c.Selected
		out = append(out, c)
	}
	if !found || x.Default == nil {
		// No option chosen yet: an empty first choice, which "required" refuses.
		out = append([]choice{{Text: "Choose…", Selected: !found}}, out...)
	}
	return out
}

// choice is one <option>.
type choice struct {
	Value, Text string
	Selected    bool
}

// effects is the JSON app.js reads from a select: each option's value and
// display text with its effect, defaults already in their control's text.
func (rf *runForm) effects(x *runField) string {
	type effect struct {
		Hide      []string          `json:"hide,omitempty"`
		Show      []string          `json:"show,omitempty"`
		Mandatory []string          `json:"mandatory,omitempty"`
		Default   map[string]string `json:"default,omitempty"`
	}
	type entry struct {
		V string  `json:"v"`
		D string  `json:"d"`
		E *effect `json:"e,omitempty"`
	}
	var out []entry
	has := false
	for _, o := range x.Options {
		en := entry{V: textOf(x.Field, o.Value), D: o.Display}
		if c := o.Customization; c != nil {
			has = true
			e := &effect{}
			for _, list := range []struct{ in, out *[]string }{{&c.Hide, &e.Hide}, {&c.Show, &e.Show}, {&c.Mandatory, &e.Mandatory}} {
				for _, k := range *list.in {
					if y := rf.field(k); y != nil {
						*list.out = append(*list.out, y.Key)
					}
				}
			}
			for k, v := range c.Default {
				if y := rf.field(k); y != nil && !y.Context && !y.Caller {
					if e.Default == nil {
						e.Default = map[string]string{}
					}
					e.Default[y.Key] = textOf(y.Field, v)
				}
			}
			en.E = e
		}
		out = append(out, en)
	}
	if !has {
		return ""
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// Describedby lists the ids of the field's help and error texts.
func (x *runField) Describedby() string {
	var ids []string
	if x.Help() != "" {
		ids = append(ids, "h-"+x.HID)
	}
	if x.Error != "" {
		ids = append(ids, "e-"+x.HID)
	}
	return strings.Join(ids, " ")
}

// Help is the text under a field: its description and what fills it when
// left empty.
func (x *runField) Help() string {
	parts := []string{}
	if d := strings.TrimSpace(x.Description); d != "" {
		if !strings.ContainsAny(d[len(d)-1:], ".!?:") {
			d += "."
		}
		parts = append(parts, d)
	}
	if x.DefaultExpr != "" && x.Value == "" {
		parts = append(parts, "Left empty, the runbook works it out ("+x.DefaultExpr+").")
	}
	if x.Setting != "" {
		parts = append(parts, "Preset by your organisation's settings ("+x.Setting+").")
	}
	if x.Type == runbooker.TypeStringArray && x.Control == catalog.ControlTextarea {
		parts = append(parts, "One per line.")
	}
	if x.Control == catalog.ControlDateTime && x.PickTime() {
		parts = append(parts, "Times are UTC.")
	}
	return strings.Join(parts, " ")
}

// DefaultText is a select's default as its control's text.
func (x *runField) DefaultText() string { return textOf(x.Field, x.Default) }

// Shown is a read-only field's value for people: an option's display text,
// Yes or No, or the text.
func (x *runField) Shown() string {
	v := textOf(x.Field, x.Default)
	if o := x.option(v); o != nil {
		return o.Display
	}
	if b, ok := x.Default.(bool); ok {
		if b {
			return "Yes"
		}
		return "No"
	}
	return v
}

// Step is a number input's step: whole numbers for int parameters.
func (x *runField) Step() string {
	if x.Type == runbooker.TypeInt {
		return "1"
	}
	return "any"
}

// MinText and MaxText are a number input's bounds ("" for none).
func (x *runField) MinText() string { return bound(x.Min) }

// MaxText is a number input's upper bound.
func (x *runField) MaxText() string { return bound(x.Max) }

func bound(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// Rows is a textarea's height.
func (x *runField) Rows() int {
	if n := strings.Count(x.Value, "\n") + 2; n > 4 {
		return min(n, 16)
	}
	return 4
}

// paramMention finds the parameter an API message names: `parameter
// "Length": …`, `parameter Length: …`, `missing mandatory parameter "X"`.
var paramMention = regexp.MustCompile(`(?i)parameter "?([A-Za-z_][A-Za-z0-9_]*)"?`)

// blame sets the API's message as the error of every field it names and
// reports whether one was found.
func (rf *runForm) blame(msg string) bool {
	found := false
	for _, m := range paramMention.FindAllStringSubmatch(msg, -1) {
		for _, x := range rf.Fields {
			if x.Name != "" && strings.EqualFold(x.Name, m[1]) && x.Error == "" {
				x.Error, found = msg, true
			}
		}
	}
	return found
}

// Errors are the fields' errors, for the summary at the top.
func (rf *runForm) Errors() []*runField {
	var out []*runField
	for _, x := range rf.Fields {
		if x.Error != "" {
			out = append(out, x)
		}
	}
	return out
}

// htmlID makes a field key usable in an id: "ui:1" → "ui-1".
func htmlID(key string) string {
	b := []byte(key)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}
