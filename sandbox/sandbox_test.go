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
	if env["PATH"] == "" || !strings.Contains(env["pwd"], "rb-"+strconv.Itoa(os.Getpid())+"-job-42-") {
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

func TestMissingInterpreter(t *testing.T) {
	res := sandbox.Interpreters{}.Run(context.Background(), bash("echo hi"), nil)
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "no bash interpreter") {
		t.Errorf("exception %q", res.Exception)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestBashScriptSizes(t *testing.T) {
	// Small scripts are passed with -c, big ones in a file: both see
	// themselves as runbook.sh and get their parameters.
	for _, pad := range []int{0, 100 << 10} {
		spec := bash("# " + strings.Repeat("x", pad) + "\necho \"$0 $1 $2\"")
		spec.Params = map[string]any{"Name": "n"}
		res, s := run(t, spec)
		wantStatus(t, res, runbooker.StatusCompleted)
		equal(t, "output", s.texts(runbooker.StreamOutput), []string{"runbook.sh --Name n"})
	}
}
