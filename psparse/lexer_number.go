package psparse

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// number reads a numeric literal at l.off. It returns false, consuming
// nothing, when the characters turn out to be a word (7zip, 1st).
func (l *lexer) number() bool {
	start, src := l.off, l.src
	i := start
	var iv int64
	var fv float64
	isFloat := false
	if src[i] == '0' && (l.peek(i+1)|0x20 == 'x' || l.peek(i+1)|0x20 == 'b') {
		base := 16
		if l.peek(i+1)|0x20 == 'b' {
			base = 2
		}
		j := i + 2
		for j < len(src) && digitVal(src[j]) < base {
			j++
		}
		if j == i+2 {
			return false
		}
		u, err := strconv.ParseUint(l.str[i+2:j], base, 64)
		switch {
		case err != nil:
			fv, isFloat = math.Inf(1), true
		case u > math.MaxInt64:
			fv, isFloat = float64(u), true
		default:
			iv = int64(u)
		}
		i = j
	} else {
		j := i
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		if l.peek(j) == '.' && isDigit(l.peek(j+1)) {
			j += 2
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			isFloat = true
		}
		if l.peek(j)|0x20 == 'e' {
			k := j + 1
			if l.peek(k) == '+' || l.peek(k) == '-' {
				k++
			}
			if isDigit(l.peek(k)) {
				for k < len(src) && isDigit(src[k]) {
					k++
				}
				j, isFloat = k, true
			}
		}
		mant := l.str[i:j]
		if !isFloat {
			var err error
			if iv, err = strconv.ParseInt(mant, 10, 64); err != nil {
				isFloat = true // too big for int64: PowerShell widens to double
			}
		}
		if isFloat {
			fv, _ = strconv.ParseFloat(mant, 64)
		}
		i = j
		if l.peek(i)|0x20 == 'd' { // decimal suffix
			if !isFloat {
				fv, isFloat = float64(iv), true
			}
			i++
		}
	}
	i = l.typeSuffix(i)
	mult, i := l.multiplier(i)
	if c := l.peek(i); isNameByte(c) || (c >= utf8.RuneSelf && isLetterAt(src, i)) {
		return false
	}
	if mult != 1 {
		if !isFloat && iv <= math.MaxInt64/mult && iv >= math.MinInt64/mult {
			iv *= mult
		} else {
			if !isFloat {
				fv = float64(iv)
			}
			fv, isFloat = fv*float64(mult), true
		}
	}
	var val string
	if isFloat {
		val = formatFloat(fv)
	} else {
		val = strconv.FormatInt(iv, 10)
	}
	l.emit(Number, start, i, val)
	return true
}

// typeSuffix skips a numeric type suffix (l u ul y uy s us n).
func (l *lexer) typeSuffix(i int) int {
	c, d := l.peek(i)|0x20, l.peek(i+1)|0x20
	switch c {
	case 'u':
		if d == 'l' || d == 'y' || d == 's' {
			return i + 2
		}
		return i + 1
	case 'l', 'y', 's', 'n':
		return i + 1
	}
	return i
}

// multiplier reads kb, mb, gb, tb, pb.
func (l *lexer) multiplier(i int) (int64, int) {
	if l.peek(i+1)|0x20 != 'b' {
		return 1, i
	}
	switch l.peek(i) | 0x20 {
	case 'k':
		return 1 << 10, i + 2
	case 'm':
		return 1 << 20, i + 2
	case 'g':
		return 1 << 30, i + 2
	case 't':
		return 1 << 40, i + 2
	case 'p':
		return 1 << 50, i + 2
	}
	return 1, i
}

// formatFloat renders f so that it always reads back as a float.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eIN") {
		s += ".0"
	}
	return s
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
