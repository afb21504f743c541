package sandbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// Tests of the PowerShell host's behaviour (issue 14, part 1). Like every
// PowerShell test they need pwsh on PATH and skip without it.

// outputOf returns the texts of a finished job's Output records.
func outputOf(s *sink) []string { return s.texts(runbooker.StreamOutput) }

// 1.1: outside a try, a statement-terminating error is reported and the
// runbook goes on; inside the host's try it used to end the job.
func TestPowerShellStatementErrorsDoNotStopTheRunbook(t *testing.T) {
	res, s := run(t, pwsh("1/0; 'after'\n[int]::Parse('x'); 'after parse'\n"))
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", outputOf(s), []string{"after", "after parse"})
	errs := strings.Join(s.texts(runbooker.StreamError), "\n")
	if !strings.Contains(errs, "divide by zero") || !strings.Contains(errs, "Parse") {
		t.Errorf("error records %q do not report both errors", errs)
	}
}

// 1.2: the host does not set $ErrorActionPreference in its own scope, so a
// module's $Global:ErrorActionPreference = 'Stop' reaches the runbook.
func TestPowerShellModuleErrorActionPreferenceReachesTheRunbook(t *testing.T) {
	res, s := run(t, pwsh(`New-Module -Name StopHelper -ScriptBlock {
    function Use-Stop { $Global:ErrorActionPreference = 'Stop' }
} | Import-Module
Use-Stop
Write-Error 'boom'
'after'
`))
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "boom") {
		t.Errorf("exception %q", res.Exception)
	}
	equal(t, "output", outputOf(s), nil)
}

// 1.3: a mandatory parameter with a literal default that the caller left
// out is bound to its default and passed, so PowerShell does not fail on a
// missing mandatory parameter.
func TestPowerShellMandatoryParameterWithDefault(t *testing.T) {
	params := []runbooker.Parameter{
		{Name: "Notify", Type: runbooker.TypeBool, Mandatory: true, Default: true},
		{Name: "UserName", Type: runbooker.TypeString, Mandatory: true},
	}
	bound, err := runbooker.BindParameters(params, map[string]any{"UserName": "ada"}, "")
	if err != nil {
		t.Fatal(err)
	}
	spec := pwsh("param([Parameter(Mandatory=$true)][bool]$Notify = $true, [Parameter(Mandatory=$true)][string]$UserName)\n\"$UserName $Notify\"")
	spec.Params = bound
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", outputOf(s), []string{"ada True"})
}

// 1.7: a native command's exit code does not fail the job; an explicit
// exit N does, also "exit $LASTEXITCODE" and an exit inside a function.
func TestPowerShellNativeExitCodes(t *testing.T) {
	// The native command is pwsh itself, so the test runs on every OS.
	const native = "$self = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName\n" +
		"& $self -NoProfile -NonInteractive -Command 'exit 1'\n"
	res, s := run(t, pwsh(native+"\"native exit code $LASTEXITCODE\""))
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", outputOf(s), []string{"native exit code 1"})

	res, _ = run(t, pwsh(native+"exit $LASTEXITCODE"))
	wantStatus(t, res, runbooker.StatusFailed)
	if res.ExitCode != 1 {
		t.Errorf("exit $LASTEXITCODE: exit code %d, want 1", res.ExitCode)
	}
	res, _ = run(t, pwsh("function Stop-Here { exit 5 }\nif ($true) { Stop-Here }\n'not reached'"))
	if res.Status != runbooker.StatusFailed || res.ExitCode != 5 {
		t.Errorf("exit in a function: %s, exit code %d, want Failed with 5", res.Status, res.ExitCode)
	}
	res, _ = run(t, pwsh("'done'\nexit 0"))
	wantStatus(t, res, runbooker.StatusCompleted)
}

// A runbook that does not parse or whose parameters do not bind fails at
// once with that error, although errors inside a runbook do not stop it.
func TestPowerShellRunbookThatCannotStart(t *testing.T) {
	res, _ := run(t, pwsh("'unclosed"))
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "does not parse") {
		t.Errorf("parse error: exception %q", res.Exception)
	}
	spec := pwsh("param([ValidateSet('a','b')][string]$Mode)\n'ran'")
	spec.Params = map[string]any{"Mode": "c"}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "Mode") || len(outputOf(s)) != 0 {
		t.Errorf("binding error: exception %q, output %q", res.Exception, outputOf(s))
	}
	res, _ = run(t, pwsh("#Requires -Modules No.Such.Module\n'ran'"))
	wantStatus(t, res, runbooker.StatusFailed)
	if !strings.Contains(res.Exception, "No.Such.Module") {
		t.Errorf("#Requires: exception %q", res.Exception)
	}
}

// 1.8: Format-Table and Format-List output is one text record.
func TestPowerShellFormatTableIsOneRecord(t *testing.T) {
	res, s := run(t, pwsh(`$rows = [pscustomobject]@{ A = 1; B = 'x' }, [pscustomobject]@{ A = 2; B = 'y' }
$rows | Format-Table
'between'
$rows[0] | Format-List
`))
	wantStatus(t, res, runbooker.StatusCompleted)
	out := outputOf(s)
	if len(out) != 3 || out[1] != "between" {
		t.Fatalf("output %q, want a table, 'between' and a list", out)
	}
	var lines []string
	for _, l := range strings.Split(out[0], "\n") {
		lines = append(lines, strings.TrimRight(l, " \r"))
	}
	equal(t, "table", lines, []string{"A B", "- -", "1 x", "2 y"})
	if !strings.Contains(out[2], "A : 1") || !strings.Contains(out[2], "B : x") {
		t.Errorf("list %q", out[2])
	}
}

// 1.9: date-like strings inside object parameters stay strings (PowerShell
// 7's ConvertFrom-Json makes them DateTime), and one-element arrays stay
// arrays.
func TestPowerShellObjectParametersKeepStringsAndArrays(t *testing.T) {
	spec := pwsh(`param([hashtable]$Obj, [object[]]$List)
$Obj.when.GetType().Name
$Obj.when
$Obj.one.GetType().Name + ' ' + $Obj.one.Count
$Obj.inner.day.GetType().Name
$List.Count
`)
	spec.Params = map[string]any{
		"Obj":  map[string]any{"when": "2024-05-06T07:08:09Z", "one": []any{"x"}, "inner": map[string]any{"day": "2024-05-06"}},
		"List": []any{map[string]any{"k": 1.0}},
	}
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", outputOf(s), []string{"String", "2024-05-06T07:08:09Z", "Object[] 1", "String", "1"})
}

// 1.10: a value too big is left out while the text stays; a text longer
// than a frame arrives whole (joined from continued frames) up to
// MaxFrameBytes per record; dates in values are ISO 8601.
func TestPowerShellOutputValuesAndLongTexts(t *testing.T) {
	spec := pwsh(`$big = [pscustomobject]@{ Name = 'big'; Data = ('é' * (5MB)) }
$big
('ü' * (3MB)) + 'end'
('x' * (9MB))
[pscustomobject]@{ When = [datetime]::new(2024, 5, 6, 7, 8, 9, [DateTimeKind]::Utc) }
Repair-RbJsonDates '{"a":"\/Date(1714979289000)\/","b":{"value":"\/Date(0)\/","DisplayHint":2,"DateTime":"Thursday, 1 January 1970"}}'
`)
	spec.OutputCap = 64 << 20
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	recs := s.records()
	var out []runbooker.StreamRecord
	warned := false
	for _, r := range recs {
		switch r.Type {
		case runbooker.StreamOutput:
			out = append(out, r)
		case runbooker.StreamWarning:
			warned = warned || strings.Contains(r.Text, "left out")
		}
	}
	if len(out) != 6 {
		t.Fatalf("%d output records, want 6", len(out))
	}
	if out[0].Value != nil || !strings.Contains(out[0].Text, "big") || !warned {
		t.Errorf("big value: text %.40q, value %d bytes, warning %v", out[0].Text, len(out[0].Value), warned)
	}
	if want := strings.Repeat("ü", 3<<20) + "end"; out[1].Text != want {
		t.Errorf("a 6 MiB text is split: %d bytes, want %d in one record", len(out[1].Text), len(want))
	}
	if len(out[2].Text) != sandbox.MaxFrameBytes || len(out[3].Text) != 9<<20-sandbox.MaxFrameBytes {
		t.Errorf("a 9 MiB text: records of %d and %d bytes", len(out[2].Text), len(out[3].Text))
	}
	var v struct{ When string }
	if err := json.Unmarshal(out[4].Value, &v); err != nil || !strings.HasPrefix(v.When, "2024-05-06T07:08:09") {
		t.Errorf("date value %s: %v", out[4].Value, err)
	}
	ms := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC).UnixMilli()
	if ms != 1714979289000 {
		t.Fatalf("test data: %d", ms)
	}
	if want := `{"a":"2024-05-06T07:08:09.000Z","b":"1970-01-01T00:00:00.000Z"}`; out[5].Text != want {
		t.Errorf("Windows PowerShell dates: %s, want %s", out[5].Text, want)
	}
}

// 1.11: an error record written to the Output stream is output.
func TestPowerShellErrorRecordOnOutputIsOutput(t *testing.T) {
	res, s := run(t, pwsh("try { throw 'oops' } catch { $_ }\n'after'"))
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", outputOf(s), []string{"oops", "after"})
	equal(t, "errors", s.texts(runbooker.StreamError), nil)

	res, s = run(t, pwsh("try { throw 'again' } catch { $_; throw }"))
	wantStatus(t, res, runbooker.StatusFailed)
	equal(t, "output", outputOf(s), []string{"again"})
	if res.Exception != "again" {
		t.Errorf("exception %q", res.Exception)
	}
}

// 1.12: verbose records are logged unless the runbook's setting is off.
func TestPowerShellLogVerboseSetting(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want []string
	}{{"", []string{"v"}}, {"true", []string{"v"}}, {"false", nil}} {
		spec := pwsh("Write-Verbose 'v'\n[string]$env:" + sandbox.EnvLogVerbose)
		if tt.env != "" {
			spec.Env = map[string]string{sandbox.EnvLogVerbose: tt.env}
		}
		res, s := run(t, spec)
		wantStatus(t, res, runbooker.StatusCompleted)
		equal(t, "verbose with "+tt.env, s.texts(runbooker.StreamVerbose), tt.want)
		equal(t, "the variable is gone", outputOf(s), []string{""})
	}
}
