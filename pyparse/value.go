package pyparse

import (
	"strconv"
	"strings"
	"unicode/utf8"

	runbooker "github.com/runbooker/runbooker"
)

// pyType maps an annotation to a parameter type; Literal[...] also yields
// a validation set.
func pyType(ann string) (runbooker.ParamType, []string) {
	ann = strings.ReplaceAll(ann, "typing.", "")
	for {
		inner, ok := unwrapOptional(ann)
		if !ok {
			break
		}
		ann = inner
	}
	switch ann {
	case "str":
		return runbooker.TypeString, nil
	case "int":
		return runbooker.TypeInt, nil
	case "bool":
		return runbooker.TypeBool, nil
	case "float":
		return runbooker.TypeFloat, nil
	case "datetime", "datetime.datetime", "date", "datetime.date":
		return runbooker.TypeDateTime, nil
	case "list[str]", "List[str]", "Sequence[str]", "tuple[str,...]", "Tuple[str,...]":
		return runbooker.TypeStringArray, nil
	}
	if args, ok := bracketArgs(ann, "Literal"); ok {
		set := make([]string, 0, len(args))
		typ := runbooker.TypeString
		for _, a := range args {
			l := newPyLexer([]byte(a))
			tok, err := l.next()
			if err != nil {
				return runbooker.TypeObject, nil
			}
			v, ok := pyLiteral([]pyToken{tok})
			if !ok {
				return runbooker.TypeObject, nil
			}
			switch x := v.(type) {
			case string:
				set = append(set, x)
			case int64:
				typ = runbooker.TypeInt
				set = append(set, strconv.FormatInt(x, 10))
			default:
				return runbooker.TypeObject, nil
			}
		}
		return typ, set
	}
	return runbooker.TypeObject, nil
}

// unwrapOptional strips Optional[X], Union[X, None], X | None and
// Annotated[X, ...], which change nothing about the value a caller sends.
func unwrapOptional(ann string) (string, bool) {
	if args, ok := bracketArgs(ann, "Optional"); ok && len(args) == 1 {
		return args[0], true
	}
	if args, ok := bracketArgs(ann, "Annotated"); ok && len(args) >= 1 {
		return args[0], true
	}
	var parts []string
	if args, ok := bracketArgs(ann, "Union"); ok {
		parts = args
	} else if strings.Contains(ann, "|") && !strings.ContainsAny(ann, "[") {
		parts = strings.Split(ann, "|")
	}
	var keep []string
	for _, p := range parts {
		if p != "None" {
			keep = append(keep, p)
		}
	}
	if len(parts) > 1 && len(keep) == 1 {
		return keep[0], true
	}
	return "", false
}

// bracketArgs splits `name[a,b]` into its top-level arguments.
func bracketArgs(s, name string) ([]string, bool) {
	if !strings.HasPrefix(s, name+"[") || !strings.HasSuffix(s, "]") {
		return nil, false
	}
	inner := s[len(name)+1 : len(s)-1]
	var args []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			depth--
		case c == ',' && depth == 0:
			args = append(args, inner[start:i])
			start = i + 1
		}
	}
	return append(args, inner[start:]), true
}

// pyLiteral evaluates a default that is a literal: strings, numbers, True,
// False, None, and lists or tuples of those.
func pyLiteral(toks []pyToken) (any, bool) {
	if len(toks) == 0 {
		return nil, false
	}
	if toks[0].kind == pyString {
		var b strings.Builder
		for _, t := range toks {
			if t.kind != pyString || strings.ContainsAny(stringPrefix(t.text), "bBfFtT") {
				return nil, false
			}
			s, _ := decodePyString(t.text)
			b.WriteString(s)
		}
		return b.String(), true
	}
	if len(toks) == 1 && toks[0].kind == pyName {
		switch toks[0].text {
		case "True":
			return true, true
		case "False":
			return false, true
		case "None":
			return nil, true
		}
		return nil, false
	}
	if len(toks) <= 2 && toks[len(toks)-1].kind == pyNumber && (len(toks) == 1 || toks[0].text == "-" || toks[0].text == "+") {
		return pyNumberValue(toks[len(toks)-1].text, toks[0].text == "-")
	}
	if open := toks[0].text; toks[0].kind == pyOp && (open == "[" || open == "(") {
		closing := map[string]string{"[": "]", "(": ")"}[open]
		if toks[len(toks)-1].text != closing {
			return nil, false
		}
		items := []any{}
		var elem []pyToken
		for _, t := range toks[1 : len(toks)-1] {
			if t.kind == pyOp && t.text == "," {
				v, ok := pyLiteral(elem)
				if !ok {
					return nil, false
				}
				items, elem = append(items, v), nil
				continue
			}
			if t.kind == pyOp && strings.ContainsAny(t.text, "([{") {
				return nil, false // nested containers stay expressions
			}
			elem = append(elem, t)
		}
		if len(elem) > 0 {
			v, ok := pyLiteral(elem)
			if !ok {
				return nil, false
			}
			items = append(items, v)
		}
		return items, true
	}
	return nil, false
}

func pyNumberValue(text string, neg bool) (any, bool) {
	s := strings.ReplaceAll(text, "_", "")
	if neg {
		s = "-" + s
	}
	if i, err := strconv.ParseInt(s, 0, 64); err == nil && !(len(s) > 1 && s[0] == '0' && !strings.ContainsAny(s, "xXoObB")) {
		return i, true
	}
	if strings.ContainsAny(s, "jJ") || strings.HasPrefix(strings.TrimPrefix(s, "-"), "0x") {
		return nil, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	return nil, false
}

func allStrings(vs []any) ([]string, bool) {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func stringPrefix(lit string) string {
	return lit[:strings.IndexAny(lit, `"'`)]
}

// decodePyString returns the value of a string literal and whether it is a
// bytes literal. Escapes are processed unless the literal is raw; \N{...}
// stays as written.
func decodePyString(lit string) (string, bool) {
	prefix := strings.ToLower(stringPrefix(lit))
	body := lit[len(prefix):]
	q := 1
	if len(body) >= 6 && body[1] == body[0] && body[2] == body[0] {
		q = 3
	}
	body = strings.ReplaceAll(body[q:len(body)-q], "\r\n", "\n")
	isBytes := strings.Contains(prefix, "b")
	if strings.Contains(prefix, "r") || !strings.Contains(body, `\`) {
		return body, isBytes
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := body[i]; e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if v, err := strconv.ParseUint(body[i+1:min(i+1+n, len(body))], 16, 32); err == nil && i+n < len(body) && utf8.ValidRune(rune(v)) {
				b.WriteRune(rune(v))
				i += n
			} else {
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(body) && j < i+3 && body[j] >= '0' && body[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(body[i:j], 8, 32)
			b.WriteRune(rune(v))
			i = j - 1
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String(), isBytes
}
