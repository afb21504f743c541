package sandbox_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// interpreters are resolved once for all tests, as a worker does.
var interpreters = sync.OnceValue(sandbox.ResolveInterpreters)

// sink collects what a job emits and checks the Emitter contract.
type sink struct {
	t       *testing.T
	mu      sync.Mutex
	recs    []runbooker.StreamRecord
	batches int
}

func (s *sink) emit(recs []runbooker.StreamRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(recs) == 0 || len(recs) > sandbox.BatchRecords {
		s.t.Errorf("batch of %d records", len(recs))
	}
	s.recs = append(s.recs, recs...)
	s.batches++
}

func (s *sink) records() []runbooker.StreamRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]runbooker.StreamRecord(nil), s.recs...)
}

// texts returns the texts of the records of one stream.
func (s *sink) texts(typ runbooker.StreamType) []string {
	var out []string
	for _, r := range s.records() {
		if r.Type == typ {
			out = append(out, r.Text)
		}
	}
	return out
}

func needLanguage(t *testing.T, lang runbooker.Language) sandbox.Interpreters {
	t.Helper()
	in := interpreters()
	switch {
	case lang == runbooker.LangBash && in.Bash == "":
		t.Skip("bash is not installed")
	case lang == runbooker.LangPython && in.Python == "":
		t.Skip("python3 is not installed")
	case lang == runbooker.LangPowerShell && in.PowerShell == "":
		t.Skip("pwsh is not on PATH: PowerShell tests need PowerShell 7 installed")
	}
	return in
}

// run runs spec to its end and checks what holds for every job: records are
// numbered from FirstSeq without gaps, carry times, and are valid UTF-8.
func run(t *testing.T, spec sandbox.Spec) (sandbox.Result, *sink) {
	t.Helper()
	return runCtx(t, context.Background(), spec)
}

func runCtx(t *testing.T, ctx context.Context, spec sandbox.Spec) (sandbox.Result, *sink) {
	t.Helper()
	in := needLanguage(t, spec.Language)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if spec.JobID == "" {
		spec.JobID = runbooker.NewUUID()
	}
	s := &sink{t: t}
	start := time.Now()
	res := in.Run(ctx, spec, s.emit)
	end := time.Now()
	next := spec.FirstSeq
	for _, r := range s.records() {
		if r.Seq != next {
			t.Fatalf("record %q has seq %d, want %d", r.Text, r.Seq, next)
		}
		next++
		if r.Time.Before(start) || r.Time.After(end) {
			t.Errorf("record %q has time %v outside the run", r.Text, r.Time)
		}
		if !utf8.ValidString(r.Text) {
			t.Errorf("record %q is not valid UTF-8", r.Text)
		}
	}
	if res.NextSeq != next {
		t.Errorf("NextSeq %d, want %d", res.NextSeq, next)
	}
	return res, s
}

func bash(script string) sandbox.Spec {
	return sandbox.Spec{Language: runbooker.LangBash, Script: []byte(script)}
}

func python(script string) sandbox.Spec {
	return sandbox.Spec{Language: runbooker.LangPython, Script: []byte(script)}
}

func wantStatus(t *testing.T, res sandbox.Result, status runbooker.JobStatus) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %s (exception %q, exit %d), want %s", res.Status, res.Exception, res.ExitCode, status)
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

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

func TestStreamPrefixesAndStderr(t *testing.T) {
	res, s := run(t, bash(`echo out
echo "VERBOSE: v"; echo "WARNING: w"; echo "DEBUG: d"; echo "ERROR: e"
echo "PROGRESS: p"; echo "INFORMATION: i"; echo "WARNING:no space"
echo to-stderr >&2`))
	wantStatus(t, res, runbooker.StatusCompleted)
	for typ, want := range map[runbooker.StreamType][]string{
		runbooker.StreamOutput:      {"out", "WARNING:no space"},
		runbooker.StreamVerbose:     {"v"},
		runbooker.StreamWarning:     {"w"},
		runbooker.StreamDebug:       {"d"},
		runbooker.StreamError:       {"e", "to-stderr"},
		runbooker.StreamProgress:    {"p"},
		runbooker.StreamInformation: {"i"},
	} {
		equal(t, string(typ), s.texts(typ), want)
	}
}

func TestFrames(t *testing.T) {
	res, s := run(t, bash(`rb() { printf '\036RB:%s\n' "$1"; }
rb '{"t":"Output","text":"2 users","value":[{"id":1},{"id":2}]}'
rb '{"t":"Information","text":"line one\nline two"}'
rb '{"t":"Exception","text":"ignored: the job succeeds"}'
rb '{"t":"Nonsense"}'`))
	wantStatus(t, res, runbooker.StatusCompleted)
	recs := s.records()
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3: %+v", len(recs), recs)
	}
	if recs[0].Type != runbooker.StreamOutput || recs[0].Text != "2 users" || string(recs[0].Value) != `[{"id":1},{"id":2}]` {
		t.Errorf("object output: %+v", recs[0])
	}
	if recs[1].Type != runbooker.StreamInformation || recs[1].Text != "line one\nline two" {
		t.Errorf("multi-line information: %+v", recs[1])
	}
	if recs[2].Type != runbooker.StreamOutput || recs[2].Text != `RB:{"t":"Nonsense"}` {
		t.Errorf("invalid frame: %+v", recs[2])
	}
	if res.Exception != "" {
		t.Errorf("a completed job has exception %q", res.Exception)
	}
}

func TestExceptions(t *testing.T) {
	tests := []struct {
		name string
		spec sandbox.Spec
		want string
		exit int
	}{
		{"bash last stderr line", bash("echo first >&2; echo 'last words' >&2; echo out; exit 4"), "last words (exit status 4)", 4},
		{"bash no stderr", bash("exit 2"), "exit status 2", 2},
		{"bash command not found", bash("no-such-command-xyz"), "runbook.sh: line 1: no-such-command-xyz: command not found (exit status 127)", 127},
		{"bash exception frame", bash(`printf '\036RB:{"t":"Exception","text":"Disk\\nfull"}\n'; exit 1`), "Disk full", 1},
		{"python exception", python("def main():\n    raise ValueError('bad value\\nsecond line')\n"), "ValueError: bad value second line", 1},
		{"python own exception", python("class QuotaError(Exception): pass\nraise QuotaError('over quota')\n"), "QuotaError: over quota", 1},
		{"python key error", python("{}['x']\n"), "KeyError: 'x'", 1},
		{"python no message", python("raise RuntimeError\n"), "RuntimeError", 1},
		{"python sys.exit code", python("import sys\nsys.exit(3)\n"), "exit status 3", 3},
		{"python sys.exit message", python("import sys\nsys.exit('giving up')\n"), "giving up (exit status 1)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := run(t, tt.spec)
			wantStatus(t, res, runbooker.StatusFailed)
			if res.Exception != tt.want || res.ExitCode != tt.exit {
				t.Errorf("exception %q exit %d, want %q exit %d", res.Exception, res.ExitCode, tt.want, tt.exit)
			}
		})
	}
	t.Run("python syntax error", func(t *testing.T) {
		res, s := run(t, python("def main(:\n"))
		wantStatus(t, res, runbooker.StatusFailed)
		if !strings.HasPrefix(res.Exception, "SyntaxError: ") {
			t.Errorf("exception %q", res.Exception)
		}
		if errs := strings.Join(s.texts(runbooker.StreamError), "\n"); !strings.Contains(errs, "runbook.py") {
			t.Errorf("the error stream does not point into the script: %q", errs)
		}
	})
	t.Run("python traceback", func(t *testing.T) {
		res, s := run(t, python("def f():\n    raise OSError('no route')\nf()\n"))
		wantStatus(t, res, runbooker.StatusFailed)
		errs := strings.Join(s.texts(runbooker.StreamError), "\n")
		if !strings.Contains(errs, `File "runbook.py", line 2, in f`) || strings.Contains(errs, "<string>") {
			t.Errorf("traceback shows the launcher or misses the script:\n%s", errs)
		}
	})
}

func TestOutputCap(t *testing.T) {
	spec := bash(`for i in $(seq 1 200); do echo "line-$i"; done; echo "late error" >&2; exit 1`)
	spec.OutputCap = 100
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusFailed)
	recs := s.records()
	stored := len(recs) - 1
	var bytes int
	for _, r := range recs[:stored] {
		bytes += len(r.Text)
	}
	if bytes > 100 || bytes < 90 {
		t.Errorf("stored %d bytes, want at most 100 and close to it", bytes)
	}
	if int64(stored)+res.Dropped != 201 {
		t.Errorf("stored %d + dropped %d records, want 201", stored, res.Dropped)
	}
	last := recs[stored]
	if last.Type != runbooker.StreamWarning || !strings.HasPrefix(last.Text, "Output limit of 100 bytes reached: ") ||
		!strings.Contains(last.Text, " records (") {
		t.Errorf("last record: %+v", last)
	}
	if res.Exception != "late error (exit status 1)" {
		t.Errorf("dropped records still name the exception: got %q", res.Exception)
	}
}

func TestScrubbedEnvironment(t *testing.T) {
	t.Setenv("RUNBOOKER_SECRET", "hunter2")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "hunter3")
	t.Setenv("LC_TIME", "C")
	spec := bash(`env | sort; echo "pwd=$PWD"`)
	spec.JobID = "job-42"
	spec.Env = map[string]string{"RB_ASSET_URL": "http://127.0.0.1:1/x", "HOME": "/caller/wins"}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	env := map[string]string{}
	for _, line := range s.texts(runbooker.StreamOutput) {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	for _, k := range []string{"RUNBOOKER_SECRET", "AWS_SECRET_ACCESS_KEY"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s reached the runbook", k)
		}
	}
	for k, want := range map[string]string{"RB_ASSET_URL": "http://127.0.0.1:1/x", "HOME": "/caller/wins",
		"TMPDIR": env["pwd"], "LC_TIME": "C", "RB_JOB_ID": "job-42"} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	if env["PATH"] == "" || !strings.Contains(env["pwd"], "rb-job-42-") {
		t.Errorf("PATH %q, working directory %q", env["PATH"], env["pwd"])
	}
}

func TestJobDirectoryRemoved(t *testing.T) {
	res, s := run(t, bash(`pwd; echo "$HOME"; mkdir -p sub/deeper; touch sub/deeper/f; chmod 000 sub`))
	wantStatus(t, res, runbooker.StatusCompleted)
	out := s.texts(runbooker.StreamOutput)
	if len(out) != 2 || out[0] != out[1] {
		t.Fatalf("output %q", out)
	}
	if _, err := os.Stat(out[0]); !os.IsNotExist(err) {
		t.Errorf("job directory %s still exists: %v", out[0], err)
	}
}

func TestNonUTF8Output(t *testing.T) {
	res, s := run(t, bash(`printf 'a\377\376b\000c\n'; printf '\377 on stderr\n' >&2; printf 'no newline at the end'`))
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"a\uFFFDb\uFFFDc", "no newline at the end"})
	equal(t, "errors", s.texts(runbooker.StreamError), []string{"\uFFFD on stderr"})
}

func TestLongLineIsSplit(t *testing.T) {
	const n = 2*sandbox.MaxLineBytes + 12345
	res, s := run(t, bash(`printf 'WARNING: '; head -c `+itoa(n)+` /dev/zero | tr '\0' x; echo; echo after`))
	wantStatus(t, res, runbooker.StatusCompleted)
	recs := s.records()
	if len(recs) != 4 || recs[3].Text != "after" {
		t.Fatalf("got %d records", len(recs))
	}
	total := 0
	for _, r := range recs[:3] {
		if r.Type != runbooker.StreamWarning || len(r.Text) > sandbox.MaxLineBytes {
			t.Errorf("piece of %d bytes in %s", len(r.Text), r.Type)
		}
		total += len(r.Text)
	}
	if total != n {
		t.Errorf("pieces hold %d bytes, want %d", total, n)
	}
}

func TestManyLinesInOrder(t *testing.T) {
	const n = 50000
	spec := bash(`for ((i=1; i<=` + itoa(n) + `; i++)); do echo "$i"; done`)
	spec.FirstSeq = 1000
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	out := s.texts(runbooker.StreamOutput)
	if len(out) != n {
		t.Fatalf("got %d lines, want %d", len(out), n)
	}
	for i, text := range out {
		if text != itoa(i+1) {
			t.Fatalf("line %d is %q", i+1, text)
		}
	}
	if s.batches < n/sandbox.BatchRecords {
		t.Errorf("%d batches for %d records", s.batches, n)
	}
}

func TestMissingInterpreter(t *testing.T) {
	res := sandbox.Interpreters{}.Run(context.Background(), bash("echo hi"), nil)
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "no bash interpreter") {
		t.Errorf("exception %q", res.Exception)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
