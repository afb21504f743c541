// Package sandbox runs one attempt of a runbook job as a child process and
// turns what it writes into stream records (ARCHITECTURE.md §6).
//
// Each attempt gets a fresh temporary directory (working directory, HOME and
// TMPDIR; removed afterwards), a scrubbed environment, its own process group
// (a job object on Windows) so that stopping it kills every process it
// started, and the runbook's parameters in the form its language expects:
//
//   - Bash: argv "--Name value" and environment variables RB_PARAM_<Name>.
//     A value over BashInlineMax goes through a file named by
//     RB_PARAM_<Name>_FILE and is read back into $RB_PARAM_<Name> and "$@"
//     before the runbook starts (see bashParams).
//     A script of up to 64 KiB is passed with -c (saving a file write and
//     delete per job), with $0 set to runbook.sh; BASH_SOURCE is then empty.
//   - Python: keyword arguments of a top-level main(...) when the script
//     defines one, else argv "--Name value"; an embedded launcher (see
//     launcher.py) imports the script and reports an uncaught exception as
//     "Type: message".
//   - PowerShell: named parameters splatted by an embedded host script (see
//     host.ps1) that carries every PowerShell stream as framed records. The
//     runbook runs as in a console (in a nested pipeline, outside any try):
//     an error that stops a statement does not stop the runbook, and only
//     an explicit "exit N" or a terminating error fails the job, not the
//     exit code of a native command. Spec.Env[EnvLogVerbose] = "false"
//     turns verbose records off.
//
// In argv and environment variables, strings pass as they are, booleans as
// true/false, numbers in plain decimal, date-times as ISO 8601 strings, and
// arrays and objects as one JSON-encoded argument.
//
// # Line protocol
//
// stderr: every line is an Error record.
//
// stdout: a line starting with "VERBOSE: ", "WARNING: ", "DEBUG: ",
// "ERROR: ", "PROGRESS: " or "INFORMATION: " is a record of that stream with
// the prefix removed; a frame line (below) is what it says; any other line is
// an Output record. Every line is one record, empty lines included; a
// trailing "\r" is removed; invalid UTF-8 and NUL bytes become U+FFFD. On
// Windows a line that is not valid UTF-8 is first read in the OEM code page
// (else the ANSI one), which native tools write to pipes in, when that is a
// single-byte code page. A plain line longer than MaxLineBytes is split into
// several records of the same stream.
//
// # Frame lines
//
// A frame line is the four bytes "\x1eRB:" (ASCII record separator, then
// "RB:") followed by one JSON object and the end of the line:
//
//	\x1eRB:{"t":"Output","text":"2 users","value":[{"id":1},{"id":2}]}
//
// Fields (unknown ones are ignored):
//
//   - "t": a stream type (Output, Error, Warning, Verbose, Debug, Progress,
//     Information; any letter case), giving one record of that stream; or
//     "Exception", which is no record: its text becomes the job's exception
//     message if the process exits non-zero (the last one wins).
//   - "text": the record text; it may hold newlines and stays one record.
//     When it is absent and a value is present, the value's JSON is the text.
//   - "value": optional structured output, stored as the record's value;
//     null is the same as absent.
//   - "more": true when the record's text continues in the next frame (a
//     text too long for one frame). Such frames of one stream are joined
//     into one record of at most MaxFrameBytes of text, a longer text going
//     on in the next record; the value is the last frame's. A frame of
//     another stream, a plain line or the end of the output ends the
//     joining.
//
// A line that starts with the marker but does not hold a valid frame is an
// Output record of the line without its leading "\x1e". Frame lines may be up
// to MaxFrameBytes long; a longer one is dropped with a Warning record.
// Frames are read on stdout only.
//
// Records of one pipe keep their order. Across the two pipes, an Error
// record read from stderr waits (at most a few milliseconds) until the stdout
// data written before it has been numbered, so an error does not overtake
// the output that led to it.
//
// # Processes
//
// The runbook's main process leads a new process group (Windows: a job
// object it is started suspended into). Cancelling Run's context sends
// SIGTERM to the whole group and SIGKILL after KillGrace, and the job is
// Stopped; passing Spec.Timeout does the same and the job is Failed. When the
// main process ends, whatever is left of its group is killed, so a job owns
// nothing once it is over. A process that leaves the group (setsid) escapes
// this; its output is read for DrainDelay more and then abandoned with a
// Warning record. If the worker itself dies, Pdeathsig kills each job's main
// process, and on Unix a watchdog process set up by ResolveInterpreters kills
// the jobs' process groups (on Windows, closing the job object does).
//
// Isolate (Linux, root) adds a user id per job, a PID namespace per job
// (the runbook is its first process: when it ends the kernel kills every
// process it left, setsid included, and a worker's death takes the whole
// namespace with it), a read-only jail with a private /proc, and cgroup
// limits; see IsolationConfig and isolate_linux.go. A job the kernel killed
// for its memory limit is Failed with an exception naming the limit.
//
// # Secrets
//
// Spec.Secrets names the secret values a job read. Every record text and
// value, and the exception, is masked before it reaches the Emitter: the
// secret, its JSON-escaped, URL-encoded and Base64 forms, and each line of
// a multi-line secret become "***" (see mask.go). Secrets shorter than
// MinMaskLength are left alone with a Warning record.
//
// # Exceptions
//
// Exit status 0 is Completed, unless the shell of a Bash runbook reported
// one of Spec.Helpers as not found or not executable (then it is Failed,
// saying so). Otherwise the job is Failed with, in order of preference: the
// last Exception frame; the text of the last Error record plus
// " (exit status N)"; or "exit status N". Texts are made one line.
package sandbox
