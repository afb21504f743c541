package sandbox_test

import (
	"testing"

	"github.com/runbooker/runbooker"
)

var sampleParams = map[string]any{
	"Name":  "Jane Doe",
	"Count": int64(5),
	"Force": true,
	"Ratio": 1.5,
	"Tags":  []string{"a", "b c"},
	"When":  "2024-05-06T07:08:09Z",
	"Obj":   map[string]any{"k": "v"},
	"Unset": nil,
}

func TestBashParameters(t *testing.T) {
	spec := bash(`printf '%s\n' "$@"
echo "env: $RB_PARAM_Name|$RB_PARAM_Count|$RB_PARAM_Force|$RB_PARAM_Tags|$RB_PARAM_When|${RB_PARAM_Unset-unset}"`)
	spec.Params = sampleParams
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{
		"--Count", "5", "--Force", "true", "--Name", "Jane Doe", "--Obj", `{"k":"v"}`,
		"--Ratio", "1.5", "--Tags", `["a","b c"]`, "--When", "2024-05-06T07:08:09Z",
		`env: Jane Doe|5|true|["a","b c"]|2024-05-06T07:08:09Z|unset`,
	})
}

func TestPythonMainKeywordArguments(t *testing.T) {
	spec := python(`import datetime, sys

def main(Name: str, Count: int, Force: bool, Ratio: float, Tags: list, When: datetime.datetime, Obj: dict):
    print(repr(Name), repr(Count), repr(Force), repr(Ratio), repr(Tags))
    print(type(When).__name__, When.isoformat(), Obj["k"], sys.argv[1:])
    return {"done": True}

if __name__ == "__main__":
    print("the __main__ guard must not run when main is called")
`)
	spec.Params = sampleParams
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	out := s.texts(runbooker.StreamOutput)
	equal(t, "output", out, []string{
		"'Jane Doe' 5 True 1.5 ['a', 'b c']",
		"datetime 2024-05-06T07:08:09+00:00 v []",
		"{'done': True}",
	})
	if recs := s.records(); string(recs[len(recs)-1].Value) != `{"done": true}` {
		t.Errorf("main's return value: %q", recs[len(recs)-1].Value)
	}
}

func TestPythonArgvWithoutMain(t *testing.T) {
	spec := python(`import sys
print(__name__)
print(sys.argv[1:])
`)
	spec.Params = map[string]any{"Name": "x y", "Tags": []string{"a"}, "Force": false}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{
		"__main__", `['--Force', 'false', '--Name', 'x y', '--Tags', '["a"]']`,
	})
}

func TestPythonAsyncMain(t *testing.T) {
	spec := python("async def main(Name, **rest):\n    print(Name, sorted(rest))\n    return 7\n")
	spec.Params = map[string]any{"Name": "n", "B": true, "A": int64(1)}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"n ['A', 'B']", "7"})
}
