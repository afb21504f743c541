package sandbox_test

import (
	"strconv"
	"strings"
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

// TestBashBigParameters: a value of 128 KiB or more used to fail the job
// with "argument list too long"; values past BashInlineMax travel through a
// file, and the runbook still reads them from "$@" and $RB_PARAM_<Name>.
func TestBashBigParameters(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) + "\n\n" // 1 MiB and two trailing newlines
	mid := strings.Repeat("m", 100<<10)
	spec := bash(`while [ $# -gt 0 ]; do echo "arg $1 ${#2}"; shift 2; done
echo "env ${#RB_PARAM_Big} ${#RB_PARAM_Mid1} ${#RB_PARAM_Mid2} ${#RB_PARAM_Mid3} $RB_PARAM_Small"
[ "$(head -c 16 "$RB_PARAM_Big_FILE")" = 0123456789abcdef ] && echo "file ok"
[ "${RB_PARAM_Small_FILE-unset}" = unset ] && echo "small inline"
[ -z "$BASH_ENV" ] && echo "no BASH_ENV"
bash -c 'echo "child sees ${RB_PARAM_Big_FILE:+the file} ${#RB_PARAM_Big}"'`)
	spec.Params = map[string]any{"Big": big, "Mid1": mid, "Mid2": mid, "Mid3": mid, "Small": "s"}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	n, m := strconv.Itoa(len(big)), strconv.Itoa(len(mid))
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{
		"arg --Big " + n, "arg --Mid1 " + m, "arg --Mid2 " + m, "arg --Mid3 " + m, "arg --Small 1",
		"env " + n + " " + m + " " + m + " " + m + " s", "file ok", "small inline", "no BASH_ENV",
		"child sees the file 0",
	})
}

// TestBashParameterRefused: a name that is no identifier or a NUL byte in a
// value fails the job with an exception naming the parameter, for jobs that
// reach a worker without the API's checks.
func TestBashParameterRefused(t *testing.T) {
	for name, params := range map[string]map[string]any{
		"A=B":  {"A=B": "1"},
		"--z":  {"--z": "1"},
		`"N"`:  {"N": "a\x00b"},
		"a\nb": {"a\nb": "1"},
	} {
		spec := bash(`echo ran`)
		spec.Params = params
		res, _ := run(t, spec)
		wantStatus(t, res, runbooker.StatusFailed)
		if !strings.Contains(res.Exception, "parameter") {
			t.Errorf("%q: exception %q", name, res.Exception)
		}
	}
}
