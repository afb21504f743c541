package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// paramNames returns the names of the given (non-nil) parameters in a
// stable order, so argv is the same for the same job every time.
func paramNames(params map[string]any) []string {
	names := make([]string, 0, len(params))
	for k, v := range params {
		if v != nil {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// argString renders one parameter value as a single argv word or
// environment value: strings as they are, booleans as true/false, numbers in
// plain decimal, date-times in RFC 3339, and anything else as JSON.
func argString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case json.Number:
		return x.String(), nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("parameter value %T cannot be passed: %w", v, err)
	}
	return string(b), nil
}

// argvParams renders the parameters as "--Name value" words.
func argvParams(params map[string]any) ([]string, error) {
	names := paramNames(params)
	args := make([]string, 0, 2*len(names))
	for _, k := range names {
		s, err := argString(params[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		args = append(args, "--"+k, s)
	}
	return args, nil
}

// pythonParams is the launcher's input: keyword arguments for main(...) and
// the argv words for scripts without one.
type pythonParams struct {
	Kwargs map[string]any `json:"kwargs"`
	Argv   []string       `json:"argv"`
}

func pythonParamsJSON(params map[string]any) ([]byte, error) {
	argv, err := argvParams(params)
	if err != nil {
		return nil, err
	}
	kw := make(map[string]any, len(params))
	for k, v := range params {
		if v != nil {
			kw[k] = v
		}
	}
	return json.Marshal(pythonParams{Kwargs: kw, Argv: argv})
}

// EnvLogVerbose is the environment variable (set through Spec.Env) that
// carries a PowerShell runbook's "log verbose records" setting to the host:
// "false" leaves $VerbosePreference at SilentlyContinue; anything else, and
// its absence, sets it to Continue. The host removes it before the runbook
// runs.
const EnvLogVerbose = "RB_LOG_VERBOSE"

// powerShellParams is the host script's input. Strings (and string arrays)
// travel base64-encoded because PowerShell 7's ConvertFrom-Json turns
// strings that look like dates into DateTime objects, which would reach a
// [string] parameter reformatted in the current culture.
type powerShellParams struct {
	Values  map[string]any `json:"values"`  // everything that is not a string
	Strings map[string]any `json:"strings"` // base64 string or array of base64 strings
}

func powerShellParamsJSON(params map[string]any) ([]byte, error) {
	p := powerShellParams{Values: map[string]any{}, Strings: map[string]any{}}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for k, v := range params {
		switch x := v.(type) {
		case nil:
		case string:
			p.Strings[k] = b64(x)
		case time.Time:
			p.Strings[k] = b64(x.Format(time.RFC3339Nano))
		case []string:
			enc := make([]string, len(x))
			for i, s := range x {
				enc[i] = b64(s)
			}
			p.Strings[k] = enc
		case []any:
			enc := make([]string, 0, len(x))
			for _, e := range x {
				if s, ok := e.(string); ok {
					enc = append(enc, b64(s))
				}
			}
			if len(enc) == len(x) && len(x) > 0 {
				p.Strings[k] = enc
			} else {
				p.Values[k] = v
			}
		default:
			p.Values[k] = v
		}
	}
	return json.Marshal(p)
}
