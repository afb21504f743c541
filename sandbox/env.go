package sandbox

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// environment builds a runbook's scrubbed environment: the allow-listed
// variables of the worker (see allowedEnv), the sandbox's own, then extra
// (parameters, language settings) and finally the caller's Spec.Env. Nothing
// else of the worker's environment, RUNBOOKER_* settings included, reaches
// the runbook. Later entries win (os/exec keeps the last of duplicate keys).
//
// shell, when set, is SHELL: a login sets it, and without it bash asks the
// user database for the user's shell at every start, which for a job user
// id that has no passwd entry goes through every NSS source (a millisecond
// per job here).
func environment(dir, pathPrefix, shell string, extra []string, spec Spec) []string {
	env := make([]string, 0, 16+len(extra)+len(spec.Env))
	if len(spec.PathDirs) > 0 {
		dirs := strings.Join(spec.PathDirs, string(os.PathListSeparator))
		if pathPrefix != "" {
			dirs += string(os.PathListSeparator) + pathPrefix
		}
		pathPrefix = dirs
	}
	for _, kv := range os.Environ() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || !allowedEnv(k) {
			continue
		}
		if pathPrefix != "" && envKeyEqual(k, "PATH") {
			v = pathPrefix + string(os.PathListSeparator) + v
		}
		env = append(env, k+"="+v)
	}
	for _, k := range homeEnv {
		env = append(env, k+"="+dir)
	}
	if spec.JobID != "" {
		env = append(env, "RB_JOB_ID="+spec.JobID)
	}
	if shell != "" {
		env = append(env, "SHELL="+shell)
	}
	env = append(env, extra...)
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	return env
}

// allowedEnv reports whether the worker's variable k may reach a runbook.
func allowedEnv(k string) bool {
	return allowedIn(allowEnv, k, runtime.GOOS == "windows") || hasPrefixFold(k, "LC_")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && envKeyEqual(s[:len(prefix)], prefix)
}

// interpreterPath is the PATH prefix that makes a runbook's own "python3"
// (and friends) find the real interpreters rather than version-manager shims,
// which break when HOME points to the job's directory.
func interpreterPath(real, found string) string {
	if real == "" || found == "" || filepath.Dir(real) == filepath.Dir(found) {
		return ""
	}
	return filepath.Dir(real)
}
