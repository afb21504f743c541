package runbooker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A job's parameter values have one representation in memory, whichever
// way the job reached its worker (handed over in the write that created
// it, claimed from the store, or sent to a hybrid worker):
//
//   - string, bool and nil as they are;
//   - int64 for an integer, float64 for any other number: what the declared
//     type made of the value, not what JSON would;
//   - []string for an array of strings (also an empty one), []any for any
//     other array;
//   - map[string]any for an object;
//
// and the elements of arrays and objects likewise. BindParameters produces
// it. Plain JSON cannot keep it (an integral float64 comes back as the same
// text as an int64, a []string as []any), so the stores and the worker
// protocol write job parameters with EncodeParameters, which marks every
// float with a decimal point or an exponent, and read them back with
// DecodeParameters. The text is still plain JSON to any other reader.

// ParameterValue returns v in the representation above. Values of other Go
// types (Go integers, time.Time, structs) take the form their JSON text
// decodes to; a value that has none is returned unchanged, for the store to
// refuse.
func ParameterValue(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, float64:
		return v
	case string:
		if utf8.ValidString(x) {
			return x
		}
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case json.Number:
		if n, ok := jsonNumber(string(x)); ok {
			return n
		}
		return v
	case []string:
		if x == nil {
			return nil
		}
		if allValid(x) {
			return x
		}
	case []any:
		if x == nil {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ParameterValue(e)
		}
		return stringsOrAny(out)
	case map[string]any:
		if x == nil {
			return nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = ParameterValue(e)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	out, err := decodeValue(b)
	if err != nil {
		return v
	}
	return out
}

// EncodeParameters writes job parameters as JSON that DecodeParameters
// reads back to the same values and types (those of ParameterValue).
// Values are converted by ParameterValue first. A nil map is "null".
func EncodeParameters(params map[string]any) ([]byte, error) {
	if params == nil {
		return []byte("null"), nil
	}
	out := make(map[string]any, len(params))
	for k, v := range params {
		e, err := encodable(ParameterValue(v))
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", k, err)
		}
		out[k] = e
	}
	return json.Marshal(out)
}

// DecodeParameters reads job parameters written by EncodeParameters (or
// any JSON object) into the representation of ParameterValue. JSON null
// is a nil map.
func DecodeParameters(data []byte) (map[string]any, error) {
	v, err := decodeValue(data)
	if err != nil {
		return nil, err
	}
	switch m := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return m, nil
	}
	return nil, fmt.Errorf("parameters are not a JSON object")
}

// encodable replaces floats by their JSON text with a decimal point or an
// exponent, so that decoding tells them from integers.
func encodable(v any) (any, error) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", x)
		}
		format := byte('f')
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
			format = 'e' // as encoding/json writes it
		}
		s := strconv.FormatFloat(x, format, -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return json.Number(s), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = encodable(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = encodable(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

// decodeValue decodes one JSON text into the representation of
// ParameterValue.
func decodeValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return typed(v), nil
}

// typed converts what a UseNumber decoder yields.
func typed(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, ok := jsonNumber(string(x)); ok {
			return n
		}
	case []any:
		for i, e := range x {
			x[i] = typed(e)
		}
		return stringsOrAny(x)
	case map[string]any:
		for k, e := range x {
			x[k] = typed(e)
		}
	}
	return v
}

// jsonNumber reads a JSON number's text: int64 when written without a
// decimal point or exponent and in range, float64 otherwise.
func jsonNumber(s string) (any, bool) {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false
	}
	return f, true
}

// stringsOrAny returns a as []string when every element is a string.
func stringsOrAny(a []any) any {
	ss := make([]string, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			return a
		}
		ss[i] = s
	}
	return ss
}

func allValid(ss []string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
