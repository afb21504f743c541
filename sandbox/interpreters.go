package sandbox

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/runbooker/runbooker"
)

// launcherPy is the Python launcher, passed with -c so no file is written
// for it.
//
//go:embed launcher.py
var launcherPy string

// hostPs1 is the PowerShell host script, written next to the runbook.
//
//go:embed host.ps1
var hostPs1 []byte

// Interpreters holds the absolute paths of the real interpreter binaries of
// one worker. An empty path means that language cannot run here.
type Interpreters struct {
	Bash              string
	Python            string
	PowerShell        string // pwsh, PowerShell 7
	WindowsPowerShell string // powershell.exe 5.1, Windows only
	// BashRefused is the bash on PATH passed over because it is WSL's
	// (Windows only); Bash runbooks then fail saying so.
	BashRefused string

	// HostScript, when set, is the PowerShell host script jobs run, installed
	// (and signed) where Windows' script rules allow it, instead of a copy
	// in each job directory: AppLocker and WDAC run scripts in %TEMP% in
	// ConstrainedLanguage mode, and a Group Policy execution policy of
	// AllSigned refuses an unsigned host. CheckHostScript checks it.
	HostScript string

	// TempRoot is the directory in which job directories are made; empty
	// means os.TempDir(). Creating and removing a directory costs hundreds
	// of microseconds on some disks and a few on a tmpfs, which matters for
	// trivial jobs; but a tmpfs holds everything a runbook writes in memory.
	TempRoot string

	// pathPrefix goes before the runbook's PATH so that its own calls of
	// python3 reach Python rather than a version-manager shim.
	pathPrefix string
	// guard kills running jobs' process trees if the worker dies.
	guard *watchdog
	// work is the worker's own directory of job directories and helpers
	// (see Isolate); empty until Isolate ran, when job directories go
	// straight into TempRoot.
	work string
	// iso is the jobs' isolation; nil when there is none.
	iso *isolation
	// left are job directories to remove at the next sweep; sweep sweeps
	// every SweepEvery once Isolate ran.
	left  *leftovers
	sweep *sweeper
	// warm are Bash interpreters started ahead of their jobs (KeepWarm).
	warm *warmPool
}

// ResolveInterpreters finds the interpreters on PATH, once per worker. It
// resolves symbolic links and asks Python for its real executable, because a
// version-manager shim (pyenv, asdf) costs tens to hundreds of milliseconds
// on every start. On Unix it also sets up a watchdog (one bash process for
// the worker's lifetime, started with the first job) that kills the process
// trees of running jobs should the worker die; Interpreters made by hand go
// without.
func ResolveInterpreters() Interpreters {
	var in Interpreters
	if runtime.GOOS == "windows" {
		in.Bash, in.BashRefused = pickBash(lookPathAll("bash"), os.Getenv("SystemRoot"))
	} else {
		in.Bash = resolveLink(lookPath("bash"))
	}
	for _, name := range []string{"python3", "python"} {
		found := lookPath(name)
		if found == "" {
			continue
		}
		if real := askPython(found); real != "" {
			in.Python = real
			in.pathPrefix = interpreterPath(real, found)
			break
		}
	}
	in.PowerShell = resolveLink(lookPath("pwsh"))
	if runtime.GOOS == "windows" {
		in.WindowsPowerShell = resolveLink(lookPath("powershell"))
	}
	in.guard = newWatchdog(in.Bash)
	in.left = &leftovers{}
	return in
}

func lookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// lookPathAll finds every name on PATH, in PATH order.
func lookPathAll(name string) []string {
	var out []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				out = append(out, abs)
			}
		}
	}
	return out
}

func resolveLink(p string) string {
	if p == "" {
		return ""
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}

// askPython runs the interpreter found on PATH once and returns the binary
// it really is; "" when it does not answer (a Windows store stub, a broken
// shim).
func askPython(found string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, found, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return ""
	}
	real := string(bytes.TrimSpace(out))
	if fi, err := os.Stat(real); err != nil || fi.IsDir() || !filepath.IsAbs(real) {
		return ""
	}
	return resolveLink(real)
}

// plan is how one job's process is started.
type plan struct {
	path  string            // interpreter binary
	args  []string          // arguments after argv[0]
	files map[string][]byte // written into the job directory
	env   []string          // variables for this language and these parameters
	host  string            // the PowerShell host script
	// quoteAll quotes every argument on the Windows command line: Git
	// Bash's runtime glob-expands unquoted ones (see msysCommandLine).
	quoteAll bool
}

// Script, launcher and parameter file names inside the job directory.
const (
	scriptBase = "runbook"
	paramsFile = "params.json"
	hostFile   = "rbhost.ps1"
)

// planFor decides the command line of spec's job in directory dir.
func (in Interpreters) planFor(spec Spec, dir string) (plan, error) {
	script := scriptBase + spec.Language.Ext()
	switch spec.Language {
	case runbooker.LangBash:
		bp, err := bashParams(spec.Params, dir)
		if err != nil {
			return plan{}, err
		}
		if in.Bash == "" && in.BashRefused != "" {
			return plan{}, wslBashError(in.BashRefused)
		}
		p := plan{path: in.Bash, files: bp.files, env: bp.env, quoteAll: runtime.GOOS == "windows"}
		if inlineBash(spec.Script) {
			p.args = append([]string{"-c", string(spec.Script), script}, bp.argv...)
		} else {
			p.args = append([]string{script}, bp.argv...)
			if p.files == nil {
				p.files = map[string][]byte{}
			}
			p.files[script] = spec.Script
		}
		return p, in.need(p.path, "bash")
	case runbooker.LangPython:
		p := plan{path: in.Python, files: map[string][]byte{script: spec.Script}, env: pythonEnv(runtime.GOOS)}
		params := ""
		if len(spec.Params) > 0 {
			js, err := pythonParamsJSON(spec.Params)
			if err != nil {
				return plan{}, err
			}
			p.files[paramsFile], params = js, paramsFile
		}
		p.args = []string{"-B", "-c", launcherPy, script, params}
		return p, in.need(p.path, "python3")
	case runbooker.LangPowerShell:
		path, name, err := powerShellFor(runtime.GOOS, spec.PowerShell, in.PowerShell, in.WindowsPowerShell)
		if err != nil {
			return plan{}, err
		}
		p := plan{path: path, env: []string{"POWERSHELL_TELEMETRY_OPTOUT=1", "POWERSHELL_UPDATECHECK=Off"}}
		js, err := powerShellParamsJSON(spec.Params)
		if err != nil {
			return plan{}, err
		}
		src := spec.Script
		if !bytes.HasPrefix(src, utf8BOM) { // Windows PowerShell reads BOM-less scripts as ANSI
			src = append(append([]byte{}, utf8BOM...), src...)
		}
		p.files = map[string][]byte{script: src, paramsFile: js}
		p.host = in.HostScript
		if p.host == "" {
			p.files[hostFile], p.host = hostPs1, filepath.Join(dir, hostFile)
		}
		p.args = []string{"-NoLogo", "-NoProfile", "-NonInteractive"}
		if runtime.GOOS == "windows" {
			p.args = append(p.args, "-ExecutionPolicy", "Bypass")
		}
		p.args = append(p.args, "-File", p.host,
			"-ScriptPath", filepath.Join(dir, script), "-ParamsPath", filepath.Join(dir, paramsFile))
		return p, in.need(p.path, name)
	}
	return plan{}, fmt.Errorf("unsupported runbook language %q", spec.Language)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// inlineBash reports whether a Bash script is passed with -c rather than in
// a file. Writing and deleting the file costs more than starting bash on
// some disks; $0 is still runbook.sh and error messages read the same, only
// BASH_SOURCE is empty. Linux limits one argument to 128 KiB, Windows a
// whole command line to 32 K characters, and no argument can hold NUL.
func inlineBash(script []byte) bool {
	return runtime.GOOS != "windows" && len(script) <= 64<<10 && bytes.IndexByte(script, 0) < 0
}

func (in Interpreters) need(path, name string) error {
	if path == "" {
		return fmt.Errorf("no %s interpreter is installed on this worker", name)
	}
	return nil
}

// Languages lists the languages this worker has an interpreter for, as
// workers report them to the server.
func (in Interpreters) Languages() []runbooker.Language {
	out := []runbooker.Language{}
	if in.Bash != "" {
		out = append(out, runbooker.LangBash)
	}
	if in.PowerShell != "" || in.WindowsPowerShell != "" {
		out = append(out, runbooker.LangPowerShell)
	}
	if in.Python != "" {
		out = append(out, runbooker.LangPython)
	}
	return out
}
