package sandbox

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runbooker/runbooker"
)

// Limits of what a Bash parameter value may take inline, in argv and the
// environment. Linux refuses a single argument or variable of 128 KiB
// (MAX_ARG_STRLEN) and a whole exec whose arguments and environment pass a
// quarter of the stack limit (2 MiB by default), with "argument list too
// long"; a value goes through a file well before either.
const (
	// BashInlineMax is the longest value passed inline.
	BashInlineMax = 32 << 10
	// bashInlineTotal is how many bytes of values go inline in all (each
	// value counts twice: once in argv, once in the environment).
	bashInlineTotal = 512 << 10
)

// Names of the files a Bash job's big parameter values travel in.
const (
	bashParamPrefix = "param-"      // + parameter name: the value, as it is
	bashPrelude     = "rbparams.sh" // sourced through BASH_ENV before the runbook
)

// bashPlan is how a Bash job gets its parameters.
type bashPlan struct {
	argv  []string          // "--Name value" words
	env   []string          // RB_PARAM_<Name>=value, RB_PARAM_<Name>_FILE=path, BASH_ENV
	files map[string][]byte // values too big for argv, and the prelude that reads them
}

// bashParams renders a Bash job's parameters. Values up to BashInlineMax
// (while the inline total stays under bashInlineTotal) are argv words and
// RB_PARAM_<Name> variables. A bigger one is written to the file
// param-<Name> in the job directory, and RB_PARAM_<Name>_FILE names it; a
// prelude that bash sources before the runbook (BASH_ENV, unset again
// there) reads it into the shell variable RB_PARAM_<Name> and puts it in
// place of the file's path in "$@", so the runbook reads "$RB_PARAM_Name"
// and "--Name value" as always. That variable is not exported: any command
// the runbook starts with it in its environment would fail the same way.
func bashParams(params map[string]any, dir string) (bashPlan, error) {
	var bp bashPlan
	var prelude strings.Builder
	total := 0
	for _, k := range paramNames(params) {
		if !runbooker.ValidParameterName(k) {
			return bashPlan{}, fmt.Errorf("parameter name %q is not valid: a name is letters, digits and underscores, not starting with a digit", k)
		}
		v, err := argString(params[k])
		if err != nil {
			return bashPlan{}, fmt.Errorf("%s: %w", k, err)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return bashPlan{}, fmt.Errorf("parameter %q: the value contains a NUL byte, which no Bash variable or argument can hold", k)
		}
		if len(v) <= BashInlineMax && total+2*len(v) <= bashInlineTotal {
			total += 2 * len(v)
			bp.argv = append(bp.argv, "--"+k, v)
			bp.env = append(bp.env, "RB_PARAM_"+k+"="+v)
			continue
		}
		if bp.files == nil {
			bp.files = map[string][]byte{}
			prelude.WriteString("# Runbooker: parameter values too big for the command line (ARCHITECTURE.md §6).\nunset BASH_ENV\n")
		}
		name := bashParamPrefix + k
		path := filepath.Join(dir, name)
		bp.files[name] = []byte(v)
		bp.argv = append(bp.argv, "--"+k, path)
		bp.env = append(bp.env, "RB_PARAM_"+k+"_FILE="+path)
		i := strconv.Itoa(len(bp.argv)) // the value's position in "$@"
		fmt.Fprintf(&prelude, "IFS= read -r -d '' RB_PARAM_%s < \"$RB_PARAM_%s_FILE\" || :\n", k, k)
		fmt.Fprintf(&prelude, "set -- \"${@:1:%s-1}\" \"$RB_PARAM_%s\" \"${@:%s+1}\"\n", i, k, i)
	}
	if bp.files != nil {
		prelude.WriteString(": \"$BASH\" # leaves $_ as bash set it\n")
		bp.files[bashPrelude] = []byte(prelude.String())
		bp.env = append(bp.env, "BASH_ENV="+filepath.Join(dir, bashPrelude))
	}
	return bp, nil
}
