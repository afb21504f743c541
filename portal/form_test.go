package portal

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/directory"
)

func TestPortalTargetsConvertText(t *testing.T) {
	no, yes := false, true
	cases := []struct {
		typ  runbooker.ParamType
		in   string
		want any
	}{
		{runbooker.TypeString, " two words ", " two words "},
		{runbooker.TypeInt, " 42 ", int64(42)},
		{runbooker.TypeInt, "4.5", "4.5"}, // passed on for the API to refuse with its message
		{runbooker.TypeFloat, "2.5", 2.5},
		{runbooker.TypeFloat, "x", "x"},
		{runbooker.TypeBool, "on", true},
		{runbooker.TypeSwitch, "false", false},
		{runbooker.TypeStringArray, "a\n b \n\nc", []string{"a", "b", "c"}},
		{runbooker.TypeStringArray, "a, b,c", []string{"a", "b", "c"}},
		{runbooker.TypeStringArray, "one, two\nthree", []string{"one, two", "three"}},
		{runbooker.TypeObject, `{"a": [1, "x"]}`, map[string]any{"a": []any{1.0, "x"}}},
		{runbooker.TypeDateTime, "2024-01-31", "2024-01-31"},
		{runbooker.TypeDateTime, "2024-01-31T08:30", "2024-01-31T08:30:00Z"},
		{runbooker.TypeDateTime, "soon", "soon"},
	}
	for _, c := range cases {
		got, err := convertText(catalog.Field{Type: c.typ}, c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("convertText(%s, %q) = %#v, %v; want %#v", c.typ, c.in, got, err, c.want)
		}
	}
	if _, err := convertText(catalog.Field{Type: runbooker.TypeObject}, "{nope"); err == nil {
		t.Error("broken JSON for an object parameter was accepted")
	}
	// The text a control shows, and back.
	dt := catalog.Field{Type: runbooker.TypeDateTime, Control: catalog.ControlDateTime, Date: &yes, Time: &yes}
	dateOnly := catalog.Field{Type: runbooker.TypeDateTime, Control: catalog.ControlDateTime, Date: &yes, Time: &no}
	texts := []struct {
		f    catalog.Field
		v    any
		want string
	}{
		{catalog.Field{}, nil, ""},
		{catalog.Field{}, 3.0, "3"},
		{catalog.Field{}, 0.25, "0.25"},
		{catalog.Field{}, false, "false"},
		{catalog.Field{}, []any{"a", "b"}, "a\nb"},
		{catalog.Field{}, map[string]any{"k": 1.0}, `{"k":1}`},
		{dt, "2024-01-31T08:30:00+02:00", "2024-01-31T06:30"},
		{dateOnly, "2024-01-31T08:30:00Z", "2024-01-31"},
	}
	for _, c := range texts {
		if got := textOf(c.f, c.v); got != c.want {
			t.Errorf("textOf(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := joinDateTime(dt, "2024-01-31", "08:30"); got != "2024-01-31T08:30" {
		t.Errorf("date and time joined: %q", got)
	}
	if got := joinDateTime(dateOnly, "2024-01-31", ""); got != "2024-01-31" {
		t.Errorf("date alone: %q", got)
	}
}

// outOfOffice is FORM.md's example form, with a read-only field, a caller
// field and a UI-only select added.
func outOfOffice() catalog.Form {
	yes := true
	return catalog.Form{Runbook: "rjgit-user_mail_set-out-of-office", Fields: []catalog.Field{
		{Key: "UserName", Name: "UserName", Label: "User Name", Control: catalog.ControlHidden, Type: runbooker.TypeString,
			Mandatory: true, Hidden: true, Context: true, Entity: "user"},
		{Key: "CallerName", Name: "CallerName", Control: catalog.ControlHidden, Type: runbooker.TypeString, Hidden: true, Caller: true},
		{Key: "Disable", Name: "Disable", Label: "Enable or Disable", Control: catalog.ControlSelect, Type: runbooker.TypeBool, Default: false,
			Options: []catalog.Option{
				{Display: "Enable Out-of-Office", Value: false, Customization: &catalog.OptionEffect{Mandatory: []string{"Start", "MessageInternal"}}},
				{Display: "Disable Out-of-Office", Value: true, Customization: &catalog.OptionEffect{Hide: []string{"Start", "End", "MessageInternal"}}},
			}},
		{Key: "Start", Name: "Start", Control: catalog.ControlDateTime, Type: runbooker.TypeDateTime, DefaultExpr: "(get-date)", Date: &yes, Time: &yes},
		{Key: "End", Name: "End", Control: catalog.ControlDateTime, Type: runbooker.TypeDateTime, Default: "2030-01-01T00:00:00Z", Date: &yes, Time: &yes},
		{Key: "MessageInternal", Name: "MessageInternal", Control: catalog.ControlTextarea, Type: runbooker.TypeString},
		{Key: "Secret", Name: "Secret", Control: catalog.ControlText, Type: runbooker.TypeString, Hidden: true},
		{Key: "Days", Name: "Days", Control: catalog.ControlReadOnly, Type: runbooker.TypeInt, ReadOnly: true, Default: 3.0},
		{Key: "City", Name: "City", Control: catalog.ControlText, Type: runbooker.TypeString},
		{Key: "ui:1", Label: "Office", Control: catalog.ControlSelect, UIOnly: true, Default: "DE-OF",
			Options: []catalog.Option{
				{Display: "DE-OF", Value: "DE-OF", Customization: &catalog.OptionEffect{Default: map[string]any{"City": "Offenbach"}, Show: []string{"Secret"}}},
				{Display: "Elsewhere", Value: "x"},
			}},
	}}
}

func TestPortalTargetsFormCustomization(t *testing.T) {
	jane := &directory.Object{Kind: directory.User, ID: "u-jane", DisplayName: "Jane Doe", UserPrincipalName: "jane@contoso.com"}
	rf := newRunForm(outOfOffice(), jane)
	state := func() string {
		var b strings.Builder
		for _, x := range rf.Fields {
			if !x.Hide {
				b.WriteString(x.Key)
				if x.Need {
					b.WriteString("!")
				}
				b.WriteString(" ")
			}
		}
		return strings.TrimSpace(b.String())
	}
	// The defaults' effects: Enable makes Start and MessageInternal
	// mandatory; the office shows Secret and sets City.
	if got, want := state(), "Disable Start! End MessageInternal! Secret Days City ui:1"; got != want {
		t.Errorf("first showing: %q, want %q", got, want)
	}
	if c := rf.field("City"); c.Value != "Offenbach" {
		t.Errorf("City = %q, the office's default not set", c.Value)
	}
	if u := rf.field("UserName"); u.Value != "jane@contoso.com" {
		t.Errorf("context value %q", u.Value)
	}
	// Posted without JavaScript: "Disable" hides three fields, whose posted
	// values are dropped; the other office hides Secret again.
	rf.read(url.Values{"p.Disable": {"true"}, "p.MessageInternal": {"posted anyway"}, "p.Start.date": {"2024-05-01"},
		"p.End.date": {"2024-06-01"}, "p.Secret": {"s3"}, "p.City": {"Berlin"}, "p.ui:1": {"x"}, "p.UserName": {"ceo@contoso.com"},
		"p.Days": {"99"}})
	if got, want := state(), "Disable Days City ui:1"; got != want {
		t.Errorf("after post: %q, want %q", got, want)
	}
	params, ok := rf.params()
	if !ok {
		t.Fatalf("params refused: %+v", rf.Errors())
	}
	want := map[string]any{"UserName": "jane@contoso.com", "Disable": true, "End": "2030-01-01T00:00:00Z", "Days": 3.0, "City": "Berlin"}
	if !reflect.DeepEqual(params, want) {
		t.Errorf("params %#v\nwant %#v", params, want)
	}
	// Enable again, with MessageInternal left empty: mandatory by the option.
	rf.read(url.Values{"p.Disable": {"false"}, "p.Start.date": {"2024-05-01"}, "p.Start.time": {"09:00"}, "p.ui:1": {"DE-OF"}, "p.Secret": {"s3"}})
	params, ok = rf.params()
	if ok || rf.field("MessageInternal").Error == "" || rf.field("Start").Error != "" {
		t.Errorf("empty mandatory MessageInternal: ok=%v errors %+v", ok, rf.Errors())
	}
	if params["Start"] != "2024-05-01T09:00:00Z" || params["Secret"] != "s3" {
		t.Errorf("params %#v", params)
	}
	// A hidden select counts with its default: hiding Disable itself
	// (here by its own flag) brings back the Enable effects.
	rf.field("Disable").Hidden = true
	rf.read(url.Values{"p.Disable": {"true"}})
	if !rf.field("Start").Need || rf.field("Start").Hide {
		t.Error("a hidden select's posted value was used instead of its default")
	}
}

func TestPortalTargetsFormPieces(t *testing.T) {
	device := &directory.Object{Kind: directory.Device, ID: "d-1", DisplayName: "LAPTOP-1"}
	user := &directory.Object{Kind: directory.User, ID: "u-1", DisplayName: "Jo", UserPrincipalName: "jo@contoso.com"}
	for _, c := range []struct {
		name, returns string
		o             *directory.Object
		want          string
	}{
		{"UserName", "", user, "jo@contoso.com"},
		{"UserId", "", user, "u-1"},
		{"DeviceId", "", device, "d-1"},
		{"DeviceName", "", device, "LAPTOP-1"},
		{"Who", "name", user, "jo@contoso.com"},
		{"WhoName", "id", user, "u-1"},
		{"Who", "userPrincipalName", user, "jo@contoso.com"},
		{"Who", "displayName", user, "Jo"},
		{"DeviceId", "deviceId", device, "d-1"},
	} {
		if got := contextValue(catalog.Field{Name: c.name, Returns: c.returns, Entity: string(c.o.Kind)}, c.o); got != c.want {
			t.Errorf("context %s (returns %q) = %q, want %q", c.name, c.returns, got, c.want)
		}
	}
	// A context field without a target becomes a picker.
	rf := newRunForm(catalog.Form{Fields: []catalog.Field{{Key: "UserName", Name: "UserName", Control: catalog.ControlHidden,
		Hidden: true, Mandatory: true, Context: true, Entity: "user"}}}, nil)
	if x := rf.Fields[0]; !x.Picker || x.Control != catalog.ControlEntity || x.Hide || x.Returns != "userPrincipalName" {
		t.Errorf("context field without a target: %+v", x)
	}
	// The API's messages find their fields.
	rf = newRunForm(catalog.Form{Fields: []catalog.Field{{Key: "Length", Name: "Length"}, {Key: "Len", Name: "Len"}, {Key: "Note", Name: "Note"}}}, nil)
	if !rf.blame(`parameter "Length": 3 is outside the range 8..64`) || rf.field("Length").Error == "" || rf.field("Len").Error != "" {
		t.Errorf("quoted name: %+v", rf.Errors())
	}
	if !rf.blame("parameter Note: the directory knows no user") || rf.field("Note").Error == "" {
		t.Error("unquoted name not found")
	}
	if rf.blame("something else went wrong") {
		t.Error("a message naming no parameter blamed one")
	}
	// Select choices: a placeholder while nothing is chosen, values shown on request.
	sel := &runField{Field: catalog.Field{Control: catalog.ControlSelect, ShowValue: true, Default: 2.0,
		Options: []catalog.Option{{Display: "One", Value: 1.0}, {Display: "Two", Value: 2.0}}}}
	sel.Value = sel.DefaultText()
	got := sel.Choices()
	if len(got) != 2 || got[1] != (choice{Value: "2", Text: "Two (2)", Selected: true}) {
		t.Errorf("choices %+v", got)
	}
	sel.Value = ""
	if got = sel.Choices(); len(got) != 3 || got[0].Value != "" || !got[0].Selected {
		t.Errorf("choices without a choice %+v", got)
	}
}

func TestPortalTargetsFieldHTML(t *testing.T) {
	p, err := New(nil, []byte("secret"), Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	form := outOfOffice()
	form.Fields = append(form.Fields,
		catalog.Field{Key: "Notify", Name: "Notify", Label: "Notify", Control: catalog.ControlToggle, Type: runbooker.TypeBool, Default: true},
		catalog.Field{Key: "Size", Name: "Size", Label: "Size", Control: catalog.ControlSelect, Type: runbooker.TypeString, AllowEdit: true,
			Options: []catalog.Option{{Display: "Small", Value: "S"}}},
		catalog.Field{Key: "Manager", Name: "Manager", Label: "Manager", Control: catalog.ControlEntity, Type: runbooker.TypeString,
			Entity: "user", Returns: "name", Description: "Their manager"})
	rf := newRunForm(form, &directory.Object{Kind: directory.User, ID: "u-1", UserPrincipalName: "jo@contoso.com"})
	var b strings.Builder
	for _, x := range rf.Fields {
		if err := p.pages["run"].ExecuteTemplate(&b, "targets_field", x); err != nil {
			t.Fatal(err)
		}
	}
	page := b.String()
	for _, want := range []string{
		`<input type="hidden" id="f-UserName" name="p.UserName" value="jo@contoso.com">`,
		`<input type="date" id="f-Start" name="p.Start.date"`,
		`<input type="time" id="f-Start-time" name="p.Start.time"`,
		`<input type="text" id="f-Days" value="3" readonly`,
		`<select id="f-ui-1" name="p.ui:1" data-effects=`,
		`<input type="checkbox" role="switch" id="f-Notify" name="p.Notify" value="true" checked`,
		`<input type="text" id="f-Size" name="p.Size" value="" list="dl-Size"`,
		`<datalist id="dl-Size"><option value="S">Small</option></datalist>`,
		`hx-get="/pick/user?returns=name"`,
		`aria-describedby="h-Manager"`,
		`<small id="h-Manager">Their manager.</small>`,
		`<option value="false" selected>Enable Out-of-Office</option>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("no %s in\n%s", want, page)
		}
	}
	if strings.Contains(page, "CallerName") {
		t.Error("the caller field is rendered")
	}
}
