package runbooker

import (
	"encoding/json"
	"strings"
	"testing"
)

var testParams = []Parameter{
	{Name: "UserName", Type: TypeString, Mandatory: true},
	{Name: "Count", Type: TypeInt, ValidateRange: &Range{Min: 1, Max: 10}},
	{Name: "Ratio", Type: TypeFloat},
	{Name: "Enabled", Type: TypeBool},
	{Name: "Force", Type: TypeSwitch},
	{Name: "When", Type: TypeDateTime},
	{Name: "Tags", Type: TypeStringArray, ValidateSet: []string{"a", "b", "c"}},
	{Name: "Size", Type: TypeString, ValidateSet: []string{"Small", "Large"}, Default: "Small"},
	{Name: "Extra", Type: TypeObject},
	{Name: "CallerName", Type: TypeString},
}

func TestBindParameters(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    map[string]any
		errLike string
	}{
		{`{"username":"ada","count":"3","enabled":"true","when":"2026-11-25","tags":["A","b"],"ratio":"0.5"}`,
			map[string]any{"UserName": "ada", "Count": int64(3), "Enabled": true, "When": "2026-11-25T00:00:00Z",
				"Tags": []string{"A", "b"}, "Ratio": 0.5, "CallerName": "caller"}, ""},
		{`{"UserName":"ada","Force":1,"Extra":{"k":[1,2]},"CallerName":"given"}`,
			map[string]any{"UserName": "ada", "Force": true, "Extra": map[string]any{"k": []any{1.0, 2.0}}, "CallerName": "given"}, ""},
		{`{"UserName":"ada","Count":null}`, map[string]any{"UserName": "ada", "CallerName": "caller"}, ""},
		{`{}`, nil, `missing mandatory parameter "UserName"`},
		{`{"UserName":"a","Nope":1}`, nil, `unknown parameter "Nope"`},
		{`{"UserName":"a","username":"b"}`, nil, `given twice`},
		{`{"UserName":"a","Count":11}`, nil, `"Count": 11 is outside the range 1..10`},
		{`{"UserName":"a","Count":2.5}`, nil, `"Count": expected an integer`},
		{`{"UserName":"a","Count":"x"}`, nil, `"Count": expected an integer`},
		{`{"UserName":"a","Enabled":"maybe"}`, nil, `"Enabled": expected true or false`},
		{`{"UserName":"a","When":"tomorrow"}`, nil, `"When": expected an ISO-8601`},
		{`{"UserName":"a","Tags":["d"]}`, nil, `"Tags": "d" is not one of a, b, c`},
		{`{"UserName":"a","Tags":[1]}`, nil, `"Tags": element 0`},
		{`{"UserName":"a","Size":"Medium"}`, nil, `"Size": "Medium" is not one of Small, Large`},
		{`{"UserName":["x"]}`, nil, `"UserName": expected a string`},
	} {
		var in map[string]any
		if err := json.Unmarshal([]byte(c.in), &in); err != nil {
			t.Fatal(err)
		}
		got, err := BindParameters(testParams, in, "caller")
		if c.errLike != "" {
			if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), c.errLike) {
				t.Errorf("%s: error %v, want EINVALID containing %q", c.in, err, c.errLike)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(c.want)
		if string(gb) != string(wb) {
			t.Errorf("%s:\n got %s\nwant %s", c.in, gb, wb)
		}
	}
}

// FuzzBindParameters feeds arbitrary JSON run requests to the binder: it
// must never panic, and every refusal is a client error naming a parameter.
func FuzzBindParameters(f *testing.F) {
	for _, s := range []string{`{"UserName":"a"}`, `{"Count":"7","Tags":["a"]}`, `{"When":"2026-01-01T00:00:00+05:00"}`,
		`{"UserName":1e308,"Count":-0}`, `{"Force":"$true","Enabled":0}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in map[string]any
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		_, err := BindParameters(testParams, in, "caller")
		if err != nil && (ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "parameter")) {
			t.Fatalf("%s: %v", body, err)
		}
	})
}

// In-process callers pass Go numbers; they convert as the JSON forms do.
func TestConvertValueTakesGoNumbers(t *testing.T) {
	cases := []struct {
		typ  ParamType
		in   any
		want any
	}{
		{TypeInt, 7, int64(7)},
		{TypeInt, int32(-3), int64(-3)},
		{TypeInt, int64(1 << 40), int64(1 << 40)},
		{TypeInt, uint64(9), int64(9)},
		{TypeFloat, 2, float64(2)},
		{TypeFloat, float32(1.5), float64(1.5)},
	}
	for _, c := range cases {
		got, err := ConvertValue(Parameter{Name: "N", Type: c.typ}, c.in)
		if err != nil || got != c.want {
			t.Errorf("ConvertValue(%s, %T %v) = %T %v, %v; want %T %v", c.typ, c.in, c.in, got, got, err, c.want, c.want)
		}
	}
	if _, err := ConvertValue(Parameter{Name: "N", Type: TypeInt}, uint64(1<<60)); ErrorCode(err) != EINVALID {
		t.Errorf("an integer beyond 2^53 was accepted: %v", err)
	}
}

// PowerShell ignores the default of a mandatory parameter, so a value left
// out is passed as the declared default; a default PowerShell would refuse
// (empty string or array) or cannot be evaluated here (an expression) does
// not stand in for a value.
func TestBindParametersPassesMandatoryDefaults(t *testing.T) {
	params := []Parameter{
		{Name: "Notify", Type: TypeBool, Mandatory: true, Default: true},
		{Name: "Days", Type: TypeInt, Mandatory: true, Default: int64(30)},
		{Name: "Mode", Type: TypeString, Mandatory: true, Default: "full", ValidateSet: []string{"full", "quick"}},
		{Name: "Tags", Type: TypeStringArray, Mandatory: true, Default: []string{"a"}},
		{Name: "Optional", Type: TypeString, Default: "not passed"},
	}
	got, err := BindParameters(params, map[string]any{"Days": 7.0}, "")
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(got)
	if want := `{"Days":7,"Mode":"full","Notify":true,"Tags":["a"]}`; string(gb) != want {
		t.Errorf("bound %s, want %s", gb, want)
	}
	if _, ok := got["Days"].(int64); !ok {
		t.Errorf("Days is %T, want int64", got["Days"])
	}
	for _, p := range []Parameter{
		{Name: "Empty", Type: TypeString, Mandatory: true, Default: ""},
		{Name: "NoTags", Type: TypeStringArray, Mandatory: true, Default: []string{}},
		{Name: "Start", Type: TypeDateTime, Mandatory: true, DefaultExpr: "(Get-Date)"},
		{Name: "Size", Type: TypeString, Mandatory: true, Default: "huge", ValidateSet: []string{"small"}},
	} {
		_, err := BindParameters([]Parameter{p}, map[string]any{}, "")
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), `missing mandatory parameter "`+p.Name+`"`) {
			t.Errorf("%s left out: %v", p.Name, err)
		}
		given := map[string]any{"Empty": "x", "NoTags": []any{"t"}, "Start": "2026-01-02", "Size": "small"}
		if _, err := BindParameters([]Parameter{p}, map[string]any{p.Name: given[p.Name]}, ""); err != nil {
			t.Errorf("%s given: %v", p.Name, err)
		}
	}
}
