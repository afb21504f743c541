package sandbox_test

import (
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

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

func TestStdoutBeforeStderr(t *testing.T) {
	// An error is never numbered before output written before it.
	res, s := run(t, bash(`for i in $(seq 1 50); do echo "$i"; echo "$i" >&2; done`))
	wantStatus(t, res, runbooker.StatusCompleted)
	seqOf := map[string]int64{}
	for _, r := range s.records() {
		if r.Type == runbooker.StreamOutput {
			seqOf[r.Text] = r.Seq
		} else if out, ok := seqOf[r.Text]; !ok || out > r.Seq {
			t.Fatalf("error %q (seq %d) came before its output line", r.Text, r.Seq)
		}
	}
}
