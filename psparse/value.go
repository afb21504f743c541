package psparse

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxLiteralDepth bounds the nesting of parentheses and arrays that literal
// evaluation follows.
const maxLiteralDepth = 32

// literal evaluates a constant expression: a string without expansions, a
// number with an optional sign, $true, $false, $null, a parenthesised
// literal, or an array of strings written @(…) or "a","b". ok is false for
// anything else, which callers keep as source text. $null gives (nil, true).
func literal(toks []Token, depth int) (v any, ok bool) {
	toks = trimCode(toks)
	if len(toks) == 0 || depth > maxLiteralDepth {
		return nil, false
	}
	if items := splitTop(toks, false); len(items) > 1 {
		return stringList(items, depth)
	}
	return single(toks, depth)
}

func single(toks []Token, depth int) (any, bool) {
	last := len(toks) - 1
	if last == 0 {
		t := toks[0]
		switch t.Kind {
		case String, HereString:
			return t.Value, true
		case ExpandableString, ExpandableHereString:
			if hasExpansion(t.Text) {
				return nil, false
			}
			return t.Value, true
		case Number:
			return numberValue(t.Value)
		case Variable:
			switch strings.ToLower(t.Value) {
			case "true":
				return true, true
			case "false":
				return false, true
			case "null":
				return nil, true
			}
		}
		return nil, false
	}
	if last == 1 && toks[0].Kind == Operator && (toks[0].Value == "-" || toks[0].Value == "+") && toks[1].Kind == Number {
		v, ok := numberValue(toks[1].Value)
		if ok && toks[0].Value == "-" {
			switch x := v.(type) {
			case int64:
				v = -x
			case float64:
				v = -x
			}
		}
		return v, ok
	}
	if !toks[0].opens() || matching(toks, 0) != last {
		return nil, false
	}
	switch toks[0].Kind {
	case LParen:
		return literal(toks[1:last], depth+1)
	case ArrayExpression:
		var items [][]Token
		for _, it := range splitTop(toks[1:last], true) {
			if it = trimCode(it); len(it) > 0 {
				items = append(items, it)
			}
		}
		return stringList(items, depth+1)
	}
	return nil, false
}

// stringList evaluates items that must all be string literals (or arrays
// of them, which are flattened).
func stringList(items [][]Token, depth int) (any, bool) {
	out := make([]string, 0, len(items))
	for _, it := range items {
		v, ok := literal(it, depth+1)
		if !ok {
			return nil, false
		}
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []string:
			out = append(out, x...)
		default:
			return nil, false
		}
	}
	return out, true
}

// splitTop splits toks at commas outside brackets; with statements it also
// splits at semicolons and newlines (the elements of @( … )).
func splitTop(toks []Token, statements bool) [][]Token {
	var items [][]Token
	depth, start := 0, 0
	for i, t := range toks {
		switch {
		case t.opens():
			depth++
		case t.closes():
			depth--
		case depth == 0 && (t.Kind == Comma || (statements && (t.Kind == Semicolon || t.Kind == Newline))):
			items = append(items, toks[start:i])
			start = i + 1
		}
	}
	return append(items, toks[start:])
}

// numberValue converts a Number token's canonical value to int64 or
// float64. Infinities and NaN are not literals (JSON cannot carry them).
func numberValue(s string) (any, bool) {
	if strings.ContainsAny(s, ".eIN") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		return f, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, false
	}
	return n, true
}

// truthy converts an argument to bool the way PowerShell does for
// attribute arguments; anything not literal counts as true.
func truthy(toks []Token) bool {
	v, ok := literal(toks, 0)
	if !ok {
		return true
	}
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []string:
		return len(x) > 0
	}
	return false
}

// hasExpansion reports whether the raw text of an expandable string holds
// an unescaped $variable or $( … ).
func hasExpansion(raw string) bool {
	for i := 0; i < len(raw)-1; i++ {
		switch raw[i] {
		case '`':
			i++
		case '$':
			n := raw[i+1]
			if isNameByte(n) || n == '{' || n == '(' || n == '?' || n == '$' || n == '^' ||
				(n >= utf8.RuneSelf && isLetterAt([]byte(raw[i+1:]), 0)) {
				return true
			}
		}
	}
	return false
}
