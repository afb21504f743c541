package portal

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/directory"
)

// Values of run form fields: the text a control shows, the typed value a
// parameter gets from it, and what the target and pickers fill in.
// convertText turns a control's text into a value of the parameter's type.
// Text that does not fit a number or a boolean is passed on as it is, for
// the API to refuse with its own message, except JSON objects, which must
// be read here.
func convertText(f catalog.Field, s string) (any, error) {
	t := strings.TrimSpace(s)
	switch f.Type {
	case runbooker.TypeInt:
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n, nil
		}
		return t, nil
	case runbooker.TypeFloat:
		if n, err := strconv.ParseFloat(t, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
			return n, nil
		}
		return t, nil
	case runbooker.TypeBool, runbooker.TypeSwitch:
		switch strings.ToLower(t) {
		case "true", "on", "yes", "1":
			return true, nil
		case "false", "off", "no", "0":
			return false, nil
		}
		return t, nil
	case runbooker.TypeStringArray:
		return splitList(s), nil
	case runbooker.TypeObject:
		var v any
		if err := json.Unmarshal([]byte(t), &v); err != nil {
			return nil, fmt.Errorf("This must be JSON, e.g. {\"key\": \"value\"}.")
		}
		return v, nil
	case runbooker.TypeDateTime:
		tm, err := runbooker.ParseDateTime(t)
		if err != nil || len(t) == len("2006-01-02") {
			return t, nil // a date alone stays one; the API refuses what is no date
		}
		return tm.UTC().Format(time.RFC3339), nil
	}
	return s, nil
}

// splitList reads a list typed one per line or separated by commas.
func splitList(s string) []string {
	sep := "\n"
	if !strings.Contains(strings.TrimSpace(s), "\n") {
		sep = ","
	}
	out := []string{}
	for _, part := range strings.Split(s, sep) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// joinDateTime makes one ISO-8601 text of a date and a time input; a time
// alone is today's (times are UTC).
func joinDateTime(f catalog.Field, d, t string) string {
	switch {
	case d == "" && t == "":
		return ""
	case t == "" || f.Time != nil && !*f.Time:
		return d
	case d == "":
		d = time.Now().UTC().Format("2006-01-02")
	}
	return d + "T" + t
}

// DatePart and TimePart are the two inputs of a datetime field.
func (x *runField) DatePart() string {
	d, _, _ := strings.Cut(x.Value, "T")
	return d
}

// TimePart is the hours and minutes of a datetime field's value.
func (x *runField) TimePart() string {
	_, t, _ := strings.Cut(x.Value, "T")
	if len(t) >= 5 {
		return t[:5]
	}
	return t
}

// PickDate and PickTime say which inputs a datetime field shows.
func (x *runField) PickDate() bool { return x.Date == nil || *x.Date }

// PickTime says whether a datetime field has a time input.
func (x *runField) PickTime() bool { return x.Time == nil || *x.Time }

// textOf is a value as a control shows it, the one text form the page,
// app.js and the posted form share: numbers without exponent, booleans as
// true/false, lists one per line, datetimes as "2006-01-02T15:04".
func textOf(f catalog.Field, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if f.Control == catalog.ControlDateTime || f.Type == runbooker.TypeDateTime {
			if t, err := runbooker.ParseDateTime(x); err == nil {
				if len(strings.TrimSpace(x)) == len("2006-01-02") || f.Time != nil && !*f.Time {
					return t.Format("2006-01-02")
				}
				return t.UTC().Format("2006-01-02T15:04")
			}
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case []string:
		return strings.Join(x, "\n")
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, textOf(catalog.Field{}, e))
		}
		return strings.Join(parts, "\n")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// contextReturns is the attribute a context field receives (the form's
// `returns`, catalog/FORM.md) or, when the form does not say, RealmJoin's
// rule: a name for a parameter called …Name, else the directory id.
func contextReturns(f catalog.Field) string {
	if f.Returns != "" {
		return f.Returns
	}
	if strings.HasSuffix(strings.ToLower(f.Name), "name") {
		if f.Entity == string(directory.User) {
			return "userPrincipalName"
		}
		return "displayName"
	}
	return "id"
}

// contextValue is the target as the context field receives it.
func contextValue(f catalog.Field, o *directory.Object) string {
	return attribute(o, contextReturns(f))
}

// attribute is the value of a directory object's attribute as a picker or
// context field submits it. The directory keeps one id per object, so
// deviceId (Entra's device id) is that id; an attribute the directory does
// not hold gives the object's name.
func attribute(o *directory.Object, attr string) string {
	switch strings.ToLower(attr) {
	case "id", "objectid", "deviceid":
		return o.ID
	case "userprincipalname", "upn":
		if o.UserPrincipalName != "" {
			return o.UserPrincipalName
		}
	case "displayname":
		if o.DisplayName != "" {
			return o.DisplayName
		}
	case "mail":
		if o.Mail != "" {
			return o.Mail
		}
	}
	return objectName(o)
}

// objectName is how a parameter names a directory object: a user by UPN,
// others by display name.
func objectName(o *directory.Object) string {
	if o.Kind == directory.User && o.UserPrincipalName != "" {
		return o.UserPrincipalName
	}
	if o.DisplayName != "" {
		return o.DisplayName
	}
	return o.ID
}

// pick is one suggestion of an entity picker: the value it submits and
// what people read.
type pick struct{ Value, Label string }

// pickOf is how a picker offers a directory object.
func pickOf(o directory.Object, returns string) pick {
	label := o.DisplayName
	if o.UserPrincipalName != "" && o.UserPrincipalName != label {
		label += " (" + o.UserPrincipalName + ")"
	}
	if returns == "" {
		returns = "id"
	}
	return pick{Value: attribute(&o, returns), Label: label}
}
