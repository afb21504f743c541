package psparse

import "strings"

// customizationKey introduces RealmJoin's form customization in .INPUTS.
const customizationKey = "runbookcustomization:"

// customization finds "RunbookCustomization:" in the .INPUTS lines and
// returns the JSON text after it, exactly as written (comments, trailing
// commas and all), and the source line where it starts. When the brackets
// never balance, the rest of the section is returned for the caller's JSON
// parser to report on.
func customization(src []byte, lines []helpLine, verbatim bool) (string, int) {
	var b strings.Builder
	starts := make([]int, len(lines))
	for i, ln := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		starts[i] = b.Len()
		b.WriteString(ln.text)
	}
	text := b.String()
	k := indexFoldASCII(text, customizationKey)
	if k < 0 {
		return "", 0
	}
	j := k + len(customizationKey)
	for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r') {
		j++
	}
	if j >= len(text) || (text[j] != '{' && text[j] != '[') {
		return "", 0
	}
	end := jsonEnd(text, j)
	if end < 0 {
		end = len(strings.TrimRight(text, " \t\r\n"))
	}
	first, last := lineOf(starts, j), lineOf(starts, end-1)
	if verbatim {
		from := lines[first].off + j - starts[first]
		to := lines[last].off + end - starts[last]
		return string(src[from:to]), lines[first].line
	}
	return text[j:end], lines[first].line
}

// lineOf returns the index of the line holding position p of the joined text.
func lineOf(starts []int, p int) int {
	i := len(starts) - 1
	for i > 0 && starts[i] > p {
		i--
	}
	return i
}

// jsonEnd returns the position after the bracket that closes the one at
// text[start], skipping strings and // and /* */ comments, or -1.
func jsonEnd(text string, start int) int {
	depth := 0
	for i := start; i < len(text); i++ {
		switch c := text[i]; c {
		case '"', '\'':
			for i++; i < len(text) && text[i] != c; i++ {
				if text[i] == '\\' {
					i++
				}
			}
			if i >= len(text) {
				return -1
			}
		case '/':
			if i+1 < len(text) && text[i+1] == '/' {
				for i < len(text) && text[i] != '\n' {
					i++
				}
			} else if i+1 < len(text) && text[i+1] == '*' {
				e := strings.Index(text[i+2:], "*/")
				if e < 0 {
					return -1
				}
				i += e + 3
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// indexFoldASCII is strings.Index ignoring ASCII case; sub is lower case.
func indexFoldASCII(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		match := true
		for j := 0; j < len(sub); j++ {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}
